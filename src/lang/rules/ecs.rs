//! ECS rules across a task definition's containers, and between a service, its task
//! definition and its target groups.

use std::collections::BTreeMap;

use super::{Ctx, blocks, text};
use crate::model::{Kind, Resource, Value};

type Body = BTreeMap<String, Value>;

pub(super) fn check(ctx: &mut Ctx<'_>) {
    for td in ctx.all(Kind::TaskDefinition) {
        task_definition(ctx, td);
    }
    let attached = super::elbv2::attached(ctx);
    for service in ctx.all(Kind::Service) {
        service_rules(ctx, service, &attached);
    }
}

fn fargate(td: &Resource) -> bool {
    td.attrs
        .get("requires-compatibilities")
        .and_then(Value::as_list)
        .is_some_and(|l| l.iter().any(|v| v.as_str() == Some("FARGATE")))
}

fn awsvpc(td: &Resource) -> bool {
    text(&td.attrs, "network-mode") == Some("awsvpc")
}

fn int(body: &Body, key: &str) -> Option<i64> {
    body.get(key).and_then(Value::as_int)
}

/// Every name of `requires-env` is set, in `environment` or `secrets`.
fn required_env(ctx: &mut Ctx<'_>, td: &Resource, i: usize, c: &Body) {
    let name = text(c, "name").unwrap_or("?");
    let set = |key: &str| {
        ["environment", "secrets"].iter().any(|m| {
            c.get(*m)
                .and_then(Value::as_map)
                .is_some_and(|m| m.contains_key(key))
        })
    };
    let Some(required) = c.get("requires-env").and_then(Value::as_list) else {
        return;
    };
    let missing: Vec<&str> = required
        .iter()
        .filter_map(Value::as_str)
        .filter(|k| !set(k))
        .collect();
    if missing.is_empty() {
        return;
    }
    let list = missing
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    ctx.error(
        ctx.at(td, &format!("container.{i}.requires-env")),
        format!("container `{name}` requires {list} in its environment, and nothing sets it"),
        "required here",
        format!(
            "set it in `environment` or, if it is secret, in `secrets`: `{} \"…\"`",
            missing[0]
        ),
    );
}

fn task_definition(ctx: &mut Ctx<'_>, td: &Resource) {
    let role = td.attrs.contains_key("execution-role");
    let containers: Vec<(usize, &Body)> = blocks(&td.attrs, "container").collect();
    let volumes: Vec<&str> = blocks(&td.attrs, "volume")
        .filter_map(|(_, v)| text(v, "name"))
        .collect();

    if !containers.is_empty()
        && containers
            .iter()
            .all(|(_, c)| c.get("essential") == Some(&Value::Bool(false)))
    {
        let (i, _) = containers[containers.len() - 1];
        ctx.error(
            ctx.at(td, &format!("container.{i}.essential")),
            "a task definition needs at least one essential container".into(),
            "every container is marked non-essential",
            "leave `essential` out (it defaults to #true) on the container the task lives for"
                .into(),
        );
    }

    let (mut reserved, mut memory_reported) = (0, false);
    let (mut cpu, mut cpu_reported) = (0, false);
    for (i, c) in &containers {
        let name = text(c, "name").unwrap_or("?");
        let at = |attr: &str| format!("container.{i}.{attr}");
        if !role
            && c.get("secrets")
                .and_then(Value::as_map)
                .is_some_and(|m| !m.is_empty())
        {
            ctx.error(
                ctx.at(td, &at("secrets")),
                format!("container `{name}` takes secrets, but the task definition has no `execution-role`"),
                "ECS reads these with the execution role",
                "add `execution-role \"arn:aws:iam::<account>:role/<role>\"` to the task definition, \
                 a role allowed secretsmanager:GetSecretValue on these secrets"
                    .into(),
            );
        }
        required_env(ctx, td, *i, c);
        let plain = c.get("environment").and_then(Value::as_map);
        for key in c
            .get("secrets")
            .and_then(Value::as_map)
            .into_iter()
            .flat_map(|m| m.keys())
        {
            if plain.is_some_and(|p| p.contains_key(key)) {
                ctx.error(
                    ctx.at(td, &at(&format!("secrets.{key}"))),
                    format!("`{key}` is set both in `environment` and in `secrets` of container `{name}`"),
                    "also in environment",
                    format!("remove `{key}` from `environment`; a secret belongs in `secrets` only"),
                );
            }
        }
        let log = c.get("log").and_then(Value::as_map);
        let driver = log.and_then(|l| text(l, "driver"));
        if fargate(td) && !role && driver == Some("awslogs") {
            ctx.error(
                ctx.at(td, &at("log")),
                format!("container `{name}` logs with awslogs on Fargate, but the task definition has no `execution-role`"),
                "Fargate sends these logs with the execution role",
                "add `execution-role \"arn:aws:iam::<account>:role/<role>\"`, a role allowed \
                 logs:CreateLogStream and logs:PutLogEvents"
                    .into(),
            );
        }
        if fargate(td)
            && !role
            && text(c, "image")
                .is_some_and(|i| i.contains(".dkr.ecr.") && i.contains(".amazonaws.com"))
        {
            ctx.error(
                ctx.at(td, &at("image")),
                format!("container `{name}` runs an ECR image on Fargate, but the task definition has no `execution-role`"),
                "Fargate pulls this image with the execution role",
                "add `execution-role \"arn:aws:iam::<account>:role/<role>\"`, a role allowed to pull \
                 from ECR (the managed policy AmazonECSTaskExecutionRolePolicy)"
                    .into(),
            );
        }
        if let Some(log) = log {
            log_rules(ctx, td, *i, name, log);
        }
        if awsvpc(td) {
            for (j, pm) in blocks(c, "port-mapping") {
                if let (Some(host), Some(port)) = (int(pm, "host-port"), int(pm, "container-port"))
                    && host != port
                {
                    ctx.error(
                        ctx.at(td, &at(&format!("port-mapping.{j}.host-port"))),
                        format!("host port {host} differs from container port {port} under awsvpc"),
                        "not the container port",
                        format!("with network-mode \"awsvpc\" the host port is the container port: remove `host-port` or set it to {port}"),
                    );
                }
            }
        }
        for (j, mp) in blocks(c, "mount-point") {
            if let Some(volume) = text(mp, "volume")
                && !volumes.contains(&volume)
            {
                let help = crate::lang::did_you_mean(volume, volumes.iter().copied(), "volumes");
                ctx.error(
                    ctx.at(td, &at(&format!("mount-point.{j}.volume"))),
                    format!("container `{name}` mounts volume `{volume}`, which the task definition does not declare"),
                    "no such volume",
                    format!("add `volume \"{volume}\" {{ ... }}` to the task definition, or {help}"),
                );
            }
        }
        let memory = int(c, "memory-reservation").or_else(|| int(c, "memory"));
        reserved += memory.unwrap_or(0);
        if let (Some(task), Some(m)) = (int(&td.attrs, "memory"), memory)
            && reserved > task
            && !std::mem::replace(&mut memory_reported, true)
        {
            let attr = if c.contains_key("memory-reservation") {
                "memory-reservation"
            } else {
                "memory"
            };
            ctx.error(
                ctx.at(td, &at(attr)),
                format!("the containers reserve {reserved} MiB, more than the task's {task} MiB"),
                &format!("{m} MiB here"),
                "lower the containers' memory, or raise the task definition's `memory`".into(),
            );
        }
        cpu += int(c, "cpu").unwrap_or(0);
        if let (Some(task), Some(c_cpu)) = (int(&td.attrs, "cpu"), int(c, "cpu"))
            && cpu > task
            && c_cpu > 0
            && !std::mem::replace(&mut cpu_reported, true)
        {
            ctx.error(
                ctx.at(td, &at("cpu")),
                format!("the containers take {cpu} CPU units, more than the task's {task}"),
                &format!("{c_cpu} units here"),
                "lower the containers' cpu, or raise the task definition's `cpu`".into(),
            );
        }
    }
}

/// Log configurations: what the driver needs, and what Fargate supports.
fn log_rules(ctx: &mut Ctx<'_>, td: &Resource, i: usize, name: &str, log: &Body) {
    let at = |attr: &str| format!("container.{i}.log.{attr}");
    match text(log, "driver") {
        Some("awslogs") => {
            if !log.contains_key("group") {
                ctx.error(
                    ctx.at(td, &at("driver")),
                    format!("container `{name}` logs with awslogs but names no log group"),
                    "awslogs needs awslogs-group",
                    "add `group (ref)\"log-group.<name>\"` to `log`".into(),
                );
            } else if fargate(td) && !log.contains_key("stream-prefix") {
                ctx.error(
                    ctx.at(td, &at("group")),
                    format!(
                        "container `{name}` logs with awslogs on Fargate without a stream prefix"
                    ),
                    "Fargate needs awslogs-stream-prefix",
                    format!("add `stream-prefix \"{name}\"` to `log`"),
                );
            }
        }
        Some(driver) if fargate(td) => ctx.error(
            ctx.at(td, &at("driver")),
            format!("Fargate does not support the `{driver}` log driver"),
            "not on Fargate",
            "use `driver \"awslogs\"` (the default) on Fargate".into(),
        ),
        _ => {}
    }
}

fn service_rules(
    ctx: &mut Ctx<'_>,
    service: &Resource,
    attached: &std::collections::HashSet<crate::model::Address>,
) {
    let Some(td) = service
        .attrs
        .get("task-definition")
        .and_then(|v| ctx.target(v))
        .filter(|t| t.kind() == Kind::TaskDefinition)
    else {
        return;
    };
    let family = text(&td.attrs, "family").unwrap_or("?").to_string();
    let launch = text(&service.attrs, "launch-type");
    if launch == Some("FARGATE") && !fargate(td) {
        ctx.error(
            ctx.at(service, "launch-type"),
            format!("task definition `{family}` is not compatible with the FARGATE launch type"),
            "Fargate service",
            format!(
                "add \"FARGATE\" to `requires-compatibilities` of `{}`, or run the service on EC2",
                td.address
            ),
        );
    }
    match (awsvpc(td), service.attrs.contains_key("network")) {
        (false, true) => ctx.error(
            ctx.at(service, "network"),
            format!(
                "a network configuration is not valid for the `{}` network mode of `{family}`",
                text(&td.attrs, "network-mode").unwrap_or("?")
            ),
            "only for awsvpc",
            "remove `network`, or use network-mode \"awsvpc\" in the task definition".into(),
        ),
        (true, false) if launch != Some("FARGATE") => ctx.error(
            ctx.at(service, "task-definition"),
            format!("task definition `{family}` uses awsvpc, so the service needs a network configuration"),
            "awsvpc task definition",
            "add `network { subnets ...; security-groups ... }`".into(),
        ),
        _ => {}
    }
    let containers: Vec<&Body> = blocks(&td.attrs, "container").map(|(_, c)| c).collect();
    for (i, lb) in blocks(&service.attrs, "load-balancer") {
        let at = |attr: &str| format!("load-balancer.{i}.{attr}");
        if let Some(name) = text(lb, "container") {
            match containers.iter().find(|c| text(c, "name") == Some(name)) {
                None => {
                    let names = containers.iter().filter_map(|c| text(c, "name"));
                    ctx.error(
                        ctx.at(service, &at("container")),
                        format!("task definition `{family}` has no container `{name}`"),
                        "no such container",
                        crate::lang::did_you_mean(name, names, "containers"),
                    );
                }
                Some(c) => {
                    let ports: Vec<i64> = blocks(c, "port-mapping")
                        .filter_map(|(_, pm)| int(pm, "container-port"))
                        .collect();
                    if let Some(port) = int(lb, "port")
                        && !ports.contains(&port)
                    {
                        let help = match ports.as_slice() {
                            [] => format!("add `port-mapping {port}` to container `{name}`"),
                            _ => format!(
                                "container `{name}` exposes {}; use one of them, or add `port-mapping {port}`",
                                ports
                                    .iter()
                                    .map(i64::to_string)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        ctx.error(
                            ctx.at(service, &at("port")),
                            format!("container `{name}` does not expose port {port}"),
                            "not in the container's port mappings",
                            help,
                        );
                    }
                }
            }
        }
        let Some(tg) = lb
            .get("target-group")
            .and_then(|v| ctx.target(v))
            .filter(|t| t.kind() == Kind::TargetGroup)
        else {
            continue;
        };
        if awsvpc(td) && text(&tg.attrs, "target-type") != Some("ip") {
            ctx.error(
                ctx.at(service, &at("target-group")),
                format!(
                    "target group `{}` has target type `{}`, but `{family}` uses awsvpc",
                    tg.address,
                    text(&tg.attrs, "target-type").unwrap_or("instance")
                ),
                "tasks register by IP address",
                format!("set `target-type \"ip\"` on `{}`", tg.address),
            );
        }
        if !attached.contains(&tg.address) {
            ctx.error(
                ctx.at(service, &at("target-group")),
                format!(
                    "target group `{}` is not attached to a load balancer",
                    tg.address
                ),
                "no listener forwards here",
                format!(
                    "forward to it from a listener or listener rule: `forward (ref)\"{}\"`",
                    tg.address.local()
                ),
            );
        }
    }
}
