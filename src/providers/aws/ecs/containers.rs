//! Task definition bodies: containers and volumes between the schema's values and ECS types,
//! and the one comparable form of both.
//!
//! AWS (and the emulator) fill in defaults and reorder things on their side: a container's
//! `cpu: 0`, `essential`, port mappings' protocol and host port, an awslogs region. The
//! normal form fills the same defaults on both sides, keeps containers as the schema's list of
//! labelled maps sorted by name, and drops empty lists and maps, so that a plan right after an
//! apply is empty and a real difference shows in the container it belongs to.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    ApplicationProtocol, ContainerDefinition, EfsAuthorizationConfig, EfsAuthorizationConfigIam,
    EfsTransitEncryption, EfsVolumeConfiguration, HealthCheck, KeyValuePair, LogConfiguration,
    LogDriver, MountPoint, PortMapping, Secret, TransportProtocol, Volume,
};

use super::super::error::build;
use super::{
    fill_defaults, get_blocks, get_bool, get_i32, get_map, get_str, get_strings, prune, s,
    sort_blocks, sort_strings, strings,
};
use crate::model::{Kind, Value};
use crate::providers::ProviderError;

type Map = BTreeMap<String, Value>;

const REGISTER: &str = "RegisterTaskDefinition";

/// AWS's options of the awslogs driver, by the `log` block's attribute names.
const LOG_OPTIONS: [(&str, &str); 3] = [
    ("group", "awslogs-group"),
    ("stream-prefix", "awslogs-stream-prefix"),
    ("region", "awslogs-region"),
];

/// The comparable form of a task definition's attributes (desired or live).
pub fn normalize(attrs: &mut Map, region: &str) {
    fill_defaults(Kind::TaskDefinition.schema().body, attrs);
    // Settings of infra's, not of AWS's: never part of a difference.
    attrs.remove("keep-revisions");
    if let Some(list) = attrs.get_mut("requires-compatibilities") {
        sort_strings(list);
    }
    // 20 GiB is what Fargate gives when nothing is asked for.
    if attrs.get("ephemeral-storage").and_then(Value::as_int) == Some(20) {
        attrs.remove("ephemeral-storage");
    }
    let mode = get_str(attrs, "network-mode")
        .unwrap_or("awsvpc")
        .to_string();
    if let Some(Value::List(containers)) = attrs.get_mut("container") {
        for c in containers.iter_mut() {
            if let Value::Map(c) = c {
                normalize_container(c, &mode, region);
            }
        }
    }
    if let Some(list) = attrs.get_mut("container") {
        sort_blocks(list, "name");
    }
    if let Some(Value::List(volumes)) = attrs.get_mut("volume") {
        for v in volumes.iter_mut() {
            if let Value::Map(v) = v {
                prune(v);
            }
        }
    }
    if let Some(list) = attrs.get_mut("volume") {
        sort_blocks(list, "name");
    }
    if matches!(attrs.get("volume"), Some(Value::List(l)) if l.is_empty()) {
        attrs.remove("volume");
    }
}

fn normalize_container(c: &mut Map, mode: &str, region: &str) {
    if let Some(Value::List(ports)) = c.get_mut("port-mapping") {
        for p in ports.iter_mut() {
            let Value::Map(p) = p else { continue };
            if !matches!(p.get("host-port"), Some(v) if *v != Value::Null) {
                // awsvpc and host networking use the container port; bridge picks one (0).
                let host = match (mode, p.get("container-port")) {
                    ("awsvpc" | "host", Some(Value::Int(port))) => Some(Value::Int(*port)),
                    ("awsvpc" | "host", _) => None,
                    _ => Some(Value::Int(0)),
                };
                if let Some(host) = host {
                    p.insert("host-port".into(), host);
                }
            }
            prune(p);
        }
    }
    if let Some(list) = c.get_mut("port-mapping") {
        sort_blocks(list, "container-port");
    }
    if let Some(list) = c.get_mut("mount-point") {
        sort_blocks(list, "path");
    }
    if let Some(Value::Map(log)) = c.get_mut("log") {
        if get_str(log, "driver") == Some("awslogs")
            && !matches!(log.get("region"), Some(v) if *v != Value::Null)
        {
            log.insert("region".into(), s(region));
        }
        prune(log);
    }
    if let Some(Value::Map(check)) = c.get_mut("health-check") {
        prune(check);
    }
    // Settings of infra's, not of AWS's.
    c.remove("pin-digest");
    c.remove("requires-env");
    prune(c);
}

/// A container block as an ECS container definition.
pub fn container_to_aws(c: &Map, region: &str) -> Result<ContainerDefinition, ProviderError> {
    let mut b = ContainerDefinition::builder()
        .set_name(get_str(c, "name").map(str::to_string))
        .set_image(get_str(c, "image").map(str::to_string))
        .set_essential(get_bool(c, "essential"))
        .set_cpu(get_i32(c, "cpu"))
        .set_memory(get_i32(c, "memory"))
        .set_memory_reservation(get_i32(c, "memory-reservation"))
        .set_command(get_strings(c, "command").filter(|l| !l.is_empty()))
        .set_entry_point(get_strings(c, "entry-point").filter(|l| !l.is_empty()))
        .set_working_directory(get_str(c, "working-directory").map(str::to_string))
        .set_user(get_str(c, "user").map(str::to_string))
        .set_readonly_root_filesystem(get_bool(c, "readonly-root-filesystem"))
        .set_stop_timeout(get_i32(c, "stop-timeout"));
    for p in get_blocks(c, "port-mapping") {
        b = b.port_mappings(
            PortMapping::builder()
                .set_container_port(get_i32(p, "container-port"))
                .set_host_port(get_i32(p, "host-port"))
                .set_protocol(get_str(p, "protocol").map(TransportProtocol::from))
                .set_name(get_str(p, "name").map(str::to_string))
                .set_app_protocol(get_str(p, "app-protocol").map(ApplicationProtocol::from))
                .build(),
        );
    }
    for (name, value) in get_map(c, "environment").into_iter().flatten() {
        b = b.environment(
            KeyValuePair::builder()
                .name(name)
                .set_value(value.as_str().map(str::to_string))
                .build(),
        );
    }
    for (name, value) in get_map(c, "secrets").into_iter().flatten() {
        let from = value.as_str().ok_or_else(|| {
            ProviderError::Input(format!("the secret of `{name}` is not known yet"))
        })?;
        b = b.secrets(
            Secret::builder()
                .name(name)
                .value_from(from)
                .build()
                .map_err(build(REGISTER))?,
        );
    }
    if let Some(log) = get_map(c, "log") {
        let driver = get_str(log, "driver").unwrap_or("awslogs");
        let mut options: std::collections::HashMap<String, String> = LOG_OPTIONS
            .iter()
            .filter_map(|(ours, theirs)| Some((theirs.to_string(), get_str(log, ours)?.into())))
            .collect();
        if driver == "awslogs" {
            options
                .entry("awslogs-region".into())
                .or_insert_with(|| region.to_string());
        }
        b = b.log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::from(driver))
                .set_options((!options.is_empty()).then_some(options))
                .build()
                .map_err(build(REGISTER))?,
        );
    }
    if let Some(check) = get_map(c, "health-check") {
        b = b.health_check(
            HealthCheck::builder()
                .set_command(get_strings(check, "command"))
                .set_interval(get_i32(check, "interval"))
                .set_timeout(get_i32(check, "timeout"))
                .set_retries(get_i32(check, "retries"))
                .set_start_period(get_i32(check, "start-period"))
                .build()
                .map_err(build(REGISTER))?,
        );
    }
    for m in get_blocks(c, "mount-point") {
        b = b.mount_points(
            MountPoint::builder()
                .set_source_volume(get_str(m, "volume").map(str::to_string))
                .set_container_path(get_str(m, "path").map(str::to_string))
                .set_read_only(get_bool(m, "read-only"))
                .build(),
        );
    }
    Ok(b.build())
}

/// An ECS container definition as a container block.
pub fn container_from_aws(c: &ContainerDefinition) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    let int = |i: Option<i32>| i.map(|i| Value::Int(i.into()));
    let text = |t: Option<&str>| t.map(s);
    let list = |l: &[String]| (!l.is_empty()).then(|| strings(l));
    put("name", text(c.name()));
    put("image", text(c.image()));
    put("essential", c.essential().map(Value::Bool));
    put("cpu", Some(Value::Int(c.cpu().into())));
    put("memory", int(c.memory()));
    put("memory-reservation", int(c.memory_reservation()));
    put("command", list(c.command()));
    put("entry-point", list(c.entry_point()));
    put("working-directory", text(c.working_directory()));
    put("user", text(c.user()));
    put(
        "readonly-root-filesystem",
        c.readonly_root_filesystem().map(Value::Bool),
    );
    put("stop-timeout", int(c.stop_timeout()));
    let ports: Vec<Value> = c
        .port_mappings()
        .iter()
        .map(|p| {
            let mut pm = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    pm.insert(k.to_string(), v);
                }
            };
            put("container-port", int(p.container_port()));
            put("host-port", int(p.host_port()));
            put("protocol", p.protocol().map(|x| s(x.as_str())));
            put("name", text(p.name()));
            put("app-protocol", p.app_protocol().map(|x| s(x.as_str())));
            Value::Map(pm)
        })
        .collect();
    put(
        "port-mapping",
        (!ports.is_empty()).then_some(Value::List(ports)),
    );
    let env: Map = c
        .environment()
        .iter()
        .filter_map(|kv| Some((kv.name()?.to_string(), s(kv.value().unwrap_or_default()))))
        .collect();
    put("environment", (!env.is_empty()).then_some(Value::Map(env)));
    let secrets: Map = c
        .secrets()
        .iter()
        .map(|x| (x.name().to_string(), s(x.value_from())))
        .collect();
    put(
        "secrets",
        (!secrets.is_empty()).then_some(Value::Map(secrets)),
    );
    put(
        "log",
        c.log_configuration().map(|log| {
            let mut l = Map::new();
            l.insert("driver".into(), s(log.log_driver().as_str()));
            for (ours, theirs) in LOG_OPTIONS {
                if let Some(v) = log.options().and_then(|o| o.get(theirs)) {
                    l.insert(ours.into(), s(v));
                }
            }
            Value::Map(l)
        }),
    );
    put(
        "health-check",
        c.health_check().map(|h| {
            let mut hc = Map::new();
            hc.insert("command".into(), strings(h.command()));
            for (k, v) in [
                ("interval", h.interval()),
                ("timeout", h.timeout()),
                ("retries", h.retries()),
                ("start-period", h.start_period()),
            ] {
                if let Some(v) = v {
                    hc.insert(k.into(), Value::Int(v.into()));
                }
            }
            Value::Map(hc)
        }),
    );
    let mounts: Vec<Value> = c
        .mount_points()
        .iter()
        .map(|mp| {
            let mut x = Map::new();
            if let Some(v) = mp.source_volume() {
                x.insert("volume".into(), s(v));
            }
            if let Some(v) = mp.container_path() {
                x.insert("path".into(), s(v));
            }
            if let Some(v) = mp.read_only() {
                x.insert("read-only".into(), Value::Bool(v));
            }
            Value::Map(x)
        })
        .collect();
    put(
        "mount-point",
        (!mounts.is_empty()).then_some(Value::List(mounts)),
    );
    Value::Map(m)
}

/// A volume block as an ECS volume.
pub fn volume_to_aws(v: &Map) -> Result<Volume, ProviderError> {
    let efs = match get_map(v, "efs") {
        Some(efs) => {
            let on = |k: &str| get_bool(efs, k) == Some(true);
            let auth = (get_str(efs, "access-point").is_some() || on("iam")).then(|| {
                EfsAuthorizationConfig::builder()
                    .set_access_point_id(get_str(efs, "access-point").map(str::to_string))
                    .iam(if on("iam") {
                        EfsAuthorizationConfigIam::Enabled
                    } else {
                        EfsAuthorizationConfigIam::Disabled
                    })
                    .build()
            });
            Some(
                EfsVolumeConfiguration::builder()
                    .set_file_system_id(get_str(efs, "file-system").map(str::to_string))
                    .set_root_directory(get_str(efs, "root-directory").map(str::to_string))
                    .transit_encryption(if on("transit-encryption") {
                        EfsTransitEncryption::Enabled
                    } else {
                        EfsTransitEncryption::Disabled
                    })
                    .set_authorization_config(auth)
                    .build()
                    .map_err(build(REGISTER))?,
            )
        }
        None => None,
    };
    Ok(Volume::builder()
        .set_name(get_str(v, "name").map(str::to_string))
        .set_efs_volume_configuration(efs)
        .build())
}

/// An ECS volume as a volume block.
pub fn volume_from_aws(v: &Volume) -> Value {
    let mut m = Map::new();
    if let Some(name) = v.name() {
        m.insert("name".into(), s(name));
    }
    if let Some(efs) = v.efs_volume_configuration() {
        let mut e = Map::new();
        e.insert("file-system".into(), s(efs.file_system_id()));
        if let Some(root) = efs.root_directory() {
            e.insert("root-directory".into(), s(root));
        }
        if let Some(t) = efs.transit_encryption() {
            e.insert(
                "transit-encryption".into(),
                Value::Bool(*t == EfsTransitEncryption::Enabled),
            );
        }
        if let Some(auth) = efs.authorization_config() {
            if let Some(ap) = auth.access_point_id() {
                e.insert("access-point".into(), s(ap));
            }
            if let Some(iam) = auth.iam() {
                e.insert(
                    "iam".into(),
                    Value::Bool(*iam == EfsAuthorizationConfigIam::Enabled),
                );
            }
        }
        m.insert("efs".into(), Value::Map(e));
    }
    Value::Map(m)
}
