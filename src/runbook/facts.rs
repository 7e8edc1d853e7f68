//! What an on-call reader needs to know, read from the resolved stack alone: per service its
//! cluster, task definition, containers, target groups, DNS names, log groups and secrets; per
//! secret where its value comes from and who reads it; per alarm what it watches and which
//! service it is about. No AWS call; every list is sorted, so the runbook is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Address, Kind, Resource, Stack, Value};

/// Everything the runbook prints, gathered once.
#[derive(Debug, Default)]
pub struct Facts {
    pub services: Vec<Service>,
    pub secrets: Vec<Secret>,
    pub alarms: Vec<Alarm>,
    pub log_groups: Vec<LogGroup>,
}

#[derive(Debug)]
pub struct Service {
    pub address: String,
    pub name: String,
    pub cluster: String,
    pub family: String,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub desired_count: Option<i64>,
    /// `lifecycle { ignore-changes "desired-count" }`: apply leaves the live count alone.
    pub count_ignored: bool,
    pub containers: Vec<Container>,
    pub target_groups: Vec<TargetGroup>,
    /// DNS names of the records whose alias points at a load balancer serving this service.
    pub dns_names: Vec<String>,
    pub log_groups: Vec<String>,
    /// Names of the secrets its containers read.
    pub secrets: Vec<String>,
}

#[derive(Debug)]
pub struct Container {
    pub name: String,
    pub image: String,
    /// `8000/tcp`.
    pub ports: Vec<String>,
    pub log_group: Option<String>,
    /// Environment variable → secret name.
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct TargetGroup {
    pub name: String,
    pub health_path: Option<String>,
}

/// Where a secret's value comes from, as the stack writes it (never the value).
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// infra writes it from this environment variable.
    Env(String),
    /// infra writes it from this file, relative to the stack file.
    File(String),
    /// Secrets Manager generated it once, at creation, with these `get-random-password` flags.
    Generated(Vec<String>),
    /// Operators set it by hand; infra never writes it.
    Operator,
}

#[derive(Debug)]
pub struct Secret {
    pub address: String,
    pub name: String,
    pub description: Option<String>,
    pub source: Source,
    /// Service address → the environment variables it reads the secret as.
    pub readers: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug)]
pub struct Alarm {
    pub address: String,
    pub name: String,
    pub description: Option<String>,
    /// What it watches: `AWS/ECS` `CPUUtilization` (Average, 60 s), or an expression.
    pub watches: String,
    pub threshold: String,
    pub comparison: String,
    /// The services of this stack it is about (by address).
    pub services: Vec<String>,
    /// Its dimensions as `Name=value`, for an alarm about something the stack does not run.
    pub dimensions: Vec<String>,
}

#[derive(Debug)]
pub struct LogGroup {
    pub address: String,
    pub name: String,
    pub retention_days: Option<i64>,
    /// Services whose containers write to it (by address).
    pub writers: Vec<String>,
}

impl Facts {
    pub fn of(stack: &Stack) -> Facts {
        let reader = Reader { stack };
        let mut services: Vec<Service> = stack
            .resources
            .iter()
            .filter(|r| r.kind() == Kind::Service)
            .map(|r| reader.service(r))
            .collect();
        services.sort_by(|a, b| a.address.cmp(&b.address));
        let mut secrets: Vec<Secret> = stack
            .resources
            .iter()
            .filter(|r| r.kind() == Kind::Secret)
            .map(|r| reader.secret(r))
            .collect();
        secrets.sort_by(|a, b| a.name.cmp(&b.name));
        let mut alarms: Vec<Alarm> = stack
            .resources
            .iter()
            .filter(|r| r.kind() == Kind::Alarm)
            .map(|r| reader.alarm(r))
            .collect();
        alarms.sort_by(|a, b| a.name.cmp(&b.name));
        let mut log_groups: Vec<LogGroup> = stack
            .resources
            .iter()
            .filter(|r| r.kind() == Kind::LogGroup)
            .map(|r| reader.log_group(r))
            .collect();
        log_groups.sort_by(|a, b| a.name.cmp(&b.name));
        Facts {
            services,
            secrets,
            alarms,
            log_groups,
        }
    }

    pub fn service(&self, address: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.address == address)
    }
}

/// Reads facts off resources, following references within the stack.
struct Reader<'a> {
    stack: &'a Stack,
}

/// Every resource address a value refers to.
fn refs(value: &Value) -> Vec<&Address> {
    let mut out = Vec::new();
    value.visit_refs(&mut |r| out.extend(r.address()));
    out
}

fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_list).unwrap_or_default()
}

/// A number as people write it: `80`, `2.5`.
pub fn number(value: &Value) -> Option<String> {
    match value {
        Value::Int(i) => Some(i.to_string()),
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => Some(format!("{x:.0}")),
        Value::Float(x) => Some(x.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl<'a> Reader<'a> {
    fn resource(&self, address: &Address) -> Option<&'a Resource> {
        self.stack.resource(address)
    }

    /// A string attribute; a reference is shown as the name of what it points at when that
    /// resource has a `name` (or a task definition's `family`), else as the reference.
    fn text(&self, value: Option<&Value>) -> Option<String> {
        match value? {
            Value::String(s) => Some(s.clone()),
            Value::Ref(r) => {
                // An attribute AWS assigns (`arn-suffix`, `dns-name`) is shown as the reference.
                if r.attribute()
                    .is_some_and(|a| !["name", "family", "arn"].contains(&a))
                {
                    return Some(r.to_string());
                }
                let target = r.address().and_then(|a| self.resource(a));
                let named = target.and_then(|t| {
                    ["name", "family"]
                        .iter()
                        .find_map(|k| t.attrs.get(*k).and_then(Value::as_str))
                });
                Some(named.map_or_else(|| r.to_string(), str::to_string))
            }
            other => number(other),
        }
    }

    fn name(&self, r: &Resource) -> String {
        self.text(r.attrs.get("name"))
            .unwrap_or_else(|| r.address.name.clone())
    }

    fn service(&self, r: &Resource) -> Service {
        let task = r
            .attrs
            .get("task-definition")
            .map(refs)
            .unwrap_or_default()
            .into_iter()
            .find_map(|a| {
                self.resource(a)
                    .filter(|t| t.kind() == Kind::TaskDefinition)
            });
        let containers: Vec<Container> = task
            .map(|t| {
                list(t.attrs.get("container"))
                    .iter()
                    .map(|c| self.container(c))
                    .collect()
            })
            .unwrap_or_default();
        let mut tg_addresses: Vec<&Address> = Vec::new();
        for lb in list(r.attrs.get("load-balancer")) {
            if let Some(tg) = lb.as_map().and_then(|m| m.get("target-group")) {
                tg_addresses.extend(refs(tg));
            }
        }
        let mut target_groups: Vec<TargetGroup> = tg_addresses
            .iter()
            .filter_map(|a| self.resource(a))
            .map(|tg| TargetGroup {
                name: self.name(tg),
                health_path: tg
                    .attrs
                    .get("health-check")
                    .and_then(Value::as_map)
                    .filter(|h| h.get("enabled") != Some(&Value::Bool(false)))
                    .and_then(|h| self.text(h.get("path"))),
            })
            .collect();
        target_groups.sort_by(|a, b| a.name.cmp(&b.name));
        target_groups.dedup_by(|a, b| a.name == b.name);
        let load_balancers = self.load_balancers_serving(&tg_addresses);
        let mut dns_names: Vec<String> = self
            .stack
            .resources
            .iter()
            .filter(|rec| rec.kind() == Kind::Record)
            .filter(|rec| {
                rec.attrs
                    .get("alias")
                    .is_some_and(|alias| refs(alias).iter().any(|a| load_balancers.contains(a)))
            })
            .filter_map(|rec| self.text(rec.attrs.get("name")))
            .collect();
        dns_names.sort();
        dns_names.dedup();
        let log_groups: BTreeSet<String> = containers
            .iter()
            .filter_map(|c| c.log_group.clone())
            .collect();
        let secrets: BTreeSet<String> = containers
            .iter()
            .flat_map(|c| c.secrets.values().cloned())
            .collect();
        Service {
            address: r.address.to_string(),
            name: self.name(r),
            cluster: self
                .text(r.attrs.get("cluster"))
                .unwrap_or_else(|| "default".into()),
            family: task
                .and_then(|t| self.text(t.attrs.get("family")))
                .or_else(|| self.text(r.attrs.get("task-definition")))
                .unwrap_or_default(),
            cpu: task.and_then(|t| t.attrs.get("cpu")).and_then(number),
            memory: task.and_then(|t| t.attrs.get("memory")).and_then(number),
            desired_count: r.attrs.get("desired-count").and_then(Value::as_int),
            count_ignored: r
                .lifecycle
                .ignore_changes
                .iter()
                .any(|p| p == "desired-count"),
            containers,
            target_groups,
            dns_names,
            log_groups: log_groups.into_iter().collect(),
            secrets: secrets.into_iter().collect(),
        }
    }

    fn container(&self, value: &Value) -> Container {
        let empty = BTreeMap::new();
        let c = value.as_map().unwrap_or(&empty);
        let ports = list(c.get("port-mapping"))
            .iter()
            .filter_map(Value::as_map)
            .filter_map(|p| {
                let port = p.get("container-port").and_then(number)?;
                let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("tcp");
                Some(format!("{port}/{protocol}"))
            })
            .collect();
        let log_group = c
            .get("log")
            .and_then(Value::as_map)
            .and_then(|log| self.text(log.get("group")));
        let secrets = c
            .get("secrets")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter()
                    .filter_map(|(var, v)| Some((var.clone(), self.text(Some(v))?)))
                    .collect()
            })
            .unwrap_or_default();
        Container {
            name: self.text(c.get("name")).unwrap_or_default(),
            image: self.text(c.get("image")).unwrap_or_default(),
            ports,
            log_group,
            secrets,
        }
    }

    /// The load balancers whose listeners (or listeners' rules) forward to one of `groups`.
    fn load_balancers_serving(&self, groups: &[&Address]) -> BTreeSet<&'a Address> {
        let forwards_to_group = |r: &Resource| {
            r.attrs
                .get("forward")
                .is_some_and(|f| refs(f).iter().any(|a| groups.contains(a)))
        };
        let mut listeners: BTreeSet<&Address> = BTreeSet::new();
        for r in &self.stack.resources {
            match r.kind() {
                Kind::Listener if forwards_to_group(r) => {
                    listeners.insert(&r.address);
                }
                Kind::ListenerRule if forwards_to_group(r) => {
                    listeners.extend(r.attrs.get("listener").map(refs).unwrap_or_default());
                }
                _ => {}
            }
        }
        listeners
            .into_iter()
            .filter_map(|l| self.resource(l))
            .flat_map(|l| l.attrs.get("load-balancer").map(refs).unwrap_or_default())
            .filter_map(|a| self.resource(a).map(|lb| &lb.address))
            .filter(|a| a.kind == Kind::LoadBalancer)
            .collect()
    }

    fn secret(&self, r: &Resource) -> Secret {
        let value = r.attrs.get("value").and_then(Value::as_map);
        let text = |k: &str| value.and_then(|v| v.get(k)).and_then(Value::as_str);
        let source = if let Some(var) = text("from-env") {
            Source::Env(var.to_string())
        } else if let Some(path) = text("from-file") {
            Source::File(path.to_string())
        } else if let Some(spec) = value
            .and_then(|v| v.get("generate"))
            .and_then(Value::as_map)
        {
            Source::Generated(generate_flags(spec))
        } else {
            Source::Operator
        };
        let mut readers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for service in self
            .stack
            .resources
            .iter()
            .filter(|s| s.kind() == Kind::Service)
        {
            let Some(task) = service
                .attrs
                .get("task-definition")
                .map(refs)
                .unwrap_or_default()
                .into_iter()
                .find_map(|a| self.resource(a))
            else {
                continue;
            };
            for c in list(task.attrs.get("container")) {
                let Some(map) = c
                    .as_map()
                    .and_then(|c| c.get("secrets"))
                    .and_then(Value::as_map)
                else {
                    continue;
                };
                for (var, v) in map {
                    if refs(v).contains(&&r.address) {
                        readers
                            .entry(service.address.to_string())
                            .or_default()
                            .insert(var.clone());
                    }
                }
            }
        }
        Secret {
            address: r.address.to_string(),
            name: self.name(r),
            description: self.text(r.attrs.get("description")),
            source,
            readers,
        }
    }

    fn alarm(&self, r: &Resource) -> Alarm {
        let mut services: BTreeSet<String> = BTreeSet::new();
        let mut all_refs: Vec<&Address> = Vec::new();
        for v in r.attrs.values() {
            all_refs.extend(refs(v));
        }
        let service_names: BTreeMap<String, String> = self
            .stack
            .resources
            .iter()
            .filter(|s| s.kind() == Kind::Service)
            .map(|s| (self.name(s), s.address.to_string()))
            .collect();
        for a in &all_refs {
            match a.kind {
                Kind::Service => {
                    services.insert(a.to_string());
                }
                Kind::TargetGroup => {
                    services.extend(self.services_behind(a));
                }
                _ => {}
            }
        }
        let mut dimension_maps: Vec<&BTreeMap<String, Value>> = Vec::new();
        dimension_maps.extend(r.attrs.get("dimensions").and_then(Value::as_map));
        for q in list(r.attrs.get("query")) {
            dimension_maps.extend(
                q.as_map()
                    .and_then(|q| q.get("dimensions"))
                    .and_then(Value::as_map),
            );
        }
        let mut dimensions = Vec::new();
        for map in &dimension_maps {
            for (k, v) in *map {
                let shown = self.text(Some(v)).unwrap_or_default();
                if k == "ServiceName"
                    && let Some(address) = service_names.get(&shown)
                {
                    services.insert(address.clone());
                }
                dimensions.push(format!("{k}={shown}"));
            }
        }
        dimensions.sort();
        dimensions.dedup();
        Alarm {
            address: r.address.to_string(),
            name: self.name(r),
            description: self.text(r.attrs.get("description")),
            watches: self.watches(r),
            threshold: r
                .attrs
                .get("threshold")
                .and_then(number)
                .unwrap_or_default(),
            comparison: self.text(r.attrs.get("comparison")).unwrap_or_default(),
            services: services.into_iter().collect(),
            dimensions,
        }
    }

    /// What an alarm watches, in one line.
    fn watches(&self, r: &Resource) -> String {
        let attr = |k: &str| self.text(r.attrs.get(k));
        let period = r.attrs.get("period").and_then(number);
        let evaluations = r.attrs.get("evaluation-periods").and_then(number);
        let window = match (period, evaluations) {
            (Some(p), Some(n)) => format!(", {n} × {p} s"),
            (None, Some(n)) if n == "1" => ", 1 period".to_string(),
            (None, Some(n)) => format!(", {n} periods"),
            _ => String::new(),
        };
        if let (Some(namespace), Some(metric)) = (attr("namespace"), attr("metric")) {
            let stat = attr("percentile")
                .or_else(|| attr("statistic"))
                .unwrap_or_default();
            return format!("`{namespace}` `{metric}` ({stat}{window})");
        }
        let mut expression = None;
        let mut metrics = Vec::new();
        for q in list(r.attrs.get("query")).iter().filter_map(Value::as_map) {
            let qt = |k: &str| self.text(q.get(k));
            if let Some(e) = qt("expression") {
                expression = Some(e);
            } else if let (Some(ns), Some(m)) = (qt("namespace"), qt("metric")) {
                let id = qt("id").unwrap_or_default();
                let stat = qt("stat").unwrap_or_default();
                metrics.push(format!("`{id}` = `{ns}` `{m}` ({stat})"));
            }
        }
        match expression {
            Some(e) => format!("`{e}` where {}{window}", metrics.join(", ")),
            None => format!("{}{window}", metrics.join(", ")),
        }
    }

    /// The services whose load balancing names this target group.
    fn services_behind(&self, group: &Address) -> Vec<String> {
        self.stack
            .resources
            .iter()
            .filter(|s| s.kind() == Kind::Service)
            .filter(|s| {
                list(s.attrs.get("load-balancer")).iter().any(|lb| {
                    lb.as_map()
                        .and_then(|m| m.get("target-group"))
                        .is_some_and(|tg| refs(tg).contains(&group))
                })
            })
            .map(|s| s.address.to_string())
            .collect()
    }

    fn log_group(&self, r: &Resource) -> LogGroup {
        let mut writers: Vec<String> = self
            .stack
            .resources
            .iter()
            .filter(|s| s.kind() == Kind::Service)
            .filter(|s| {
                s.attrs
                    .get("task-definition")
                    .map(refs)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|a| self.resource(a))
                    .any(|t| {
                        list(t.attrs.get("container")).iter().any(|c| {
                            c.as_map()
                                .and_then(|c| c.get("log"))
                                .is_some_and(|log| refs(log).contains(&&r.address))
                        })
                    })
            })
            .map(|s| s.address.to_string())
            .collect();
        writers.sort();
        LogGroup {
            address: r.address.to_string(),
            name: self.name(r),
            retention_days: r.attrs.get("retention-days").and_then(Value::as_int),
            writers,
        }
    }
}

/// The `aws secretsmanager get-random-password` flags that make a value like the one
/// Secrets Manager generated at creation.
fn generate_flags(spec: &BTreeMap<String, Value>) -> Vec<String> {
    let mut flags = Vec::new();
    let length = spec.get("length").and_then(Value::as_int).unwrap_or(32);
    flags.push(format!("--password-length {length}"));
    if spec.get("exclude-punctuation") == Some(&Value::Bool(true)) {
        flags.push("--exclude-punctuation".into());
    }
    if spec.get("include-space") == Some(&Value::Bool(true)) {
        flags.push("--include-space".into());
    }
    if let Some(chars) = spec.get("exclude-characters").and_then(Value::as_str) {
        flags.push(format!(
            "--exclude-characters {}",
            super::markdown::shell_quote(chars)
        ));
    }
    flags
}
