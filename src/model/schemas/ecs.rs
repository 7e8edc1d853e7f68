//! ECS: clusters, task definitions (with containers and volumes) and services.

use std::collections::BTreeMap;

use super::common::{ECS_NAME, PORT, REGION, TAGS};
use crate::model::Kind;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, RefTo, ResourceSchema, Rule, Type, Violation,
};
use crate::model::value::Value;

// ---------------------------------------------------------------- cluster

pub static CLUSTER: ResourceSchema = ResourceSchema {
    title: "ECS cluster",
    doc: "An ECS cluster.",
    rules_doc: "",
    body: &CLUSTER_BODY,
    computed: &[Computed::new("arn", Type::String, "The cluster's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 90,
};

static CLUSTER_BODY: BlockSchema = BlockSchema::new(
    "cluster",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[ECS_NAME])
            .doc("The cluster name (natural key)."),
        Attr::string("container-insights")
            .unmanaged_when_omitted()
            .checks(&[Check::OneOf(&["enabled", "disabled", "enhanced"])])
            .doc(
                "CloudWatch Container Insights; when omitted the cluster keeps what AWS gives it (the account's `containerInsights` setting), and infra never changes it.",
            ),
        Attr::strings("capacity-providers")
            .checks(&[Check::Custom(
                capacity_providers,
                "`FARGATE`, `FARGATE_SPOT`",
            )])
            .doc("FARGATE and/or FARGATE_SPOT."),
        TAGS,
    ],
);

fn capacity_providers(value: &Value) -> Result<(), (String, String)> {
    for item in value.as_list().unwrap_or_default() {
        if let Some(s) = item.as_str()
            && s != "FARGATE"
            && s != "FARGATE_SPOT"
        {
            return Err((
                format!("`{s}` is not a Fargate capacity provider"),
                "use \"FARGATE\" and/or \"FARGATE_SPOT\"".into(),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- task definition

pub static TASK_DEFINITION: ResourceSchema = ResourceSchema {
    title: "ECS task definition",
    doc: "An ECS task definition family. Each change registers a new revision; `keep-revisions` old ACTIVE revisions are kept.",
    rules_doc: "for Fargate (`requires-compatibilities` includes `FARGATE`, the default), `cpu` and `memory` must be a combination Fargate runs: cpu 256 with memory 512, 1024 or 2048, 512 with 1024–4096, 1024 with 2048–8192, 2048 with 4096–16384, 4096 with 8192–30720 (in steps of 1024), 8192 with 16384–61440 (in steps of 4096), and 16384 with 32768–122880 (in steps of 8192); a Fargate task definition uses the `awsvpc` network mode. Container names are unique within a task definition; a container's `memory-reservation` is at most its `memory`. A container's `log` block needs `group` when `stream-prefix` is set; an `efs` volume needs `transit-encryption` when `access-point` is set.",
    body: &TASK_DEFINITION_BODY,
    computed: &[
        Computed::new("arn", Type::String, "ARN of the revision in use."),
        Computed::new("revision", Type::Int, "The revision number in use."),
    ],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["family"],
    delete_phase: 60,
};

static TASK_DEFINITION_BODY: BlockSchema = BlockSchema::new(
    "task-definition",
    &[
        Attr::string("family")
            .required()
            .force_new()
            .checks(&[ECS_NAME])
            .doc("The task definition family (natural key)."),
        Attr::int("cpu")
            .required()
            .doc("Task CPU units (256 = 0.25 vCPU)."),
        Attr::int("memory").required().doc("Task memory in MiB."),
        Attr::string("network-mode")
            .default(Default::Str("awsvpc"))
            .checks(&[Check::OneOf(&["awsvpc", "bridge", "host", "none"])])
            .doc("The Docker networking mode; Fargate needs `awsvpc`."),
        Attr::strings("requires-compatibilities")
            .default(Default::StrList(&["FARGATE"]))
            .checks(&[
                Check::Count(1, 4),
                Check::OneOf(&["FARGATE", "EC2", "EXTERNAL", "MANAGED_INSTANCES"]),
            ])
            .doc("Launch types the task definition is valid for: FARGATE, EC2, EXTERNAL, MANAGED_INSTANCES."),
        Attr::string("execution-role")
            .refs(&[RefTo::new(Kind::IamRole, "arn")])
            .doc("IAM role ARN ECS uses to pull images and secrets, or an `iam-role` of the stack: `(ref)\"iam-role.execution\"`."),
        Attr::string("task-role")
            .refs(&[RefTo::new(Kind::IamRole, "arn")])
            .doc("IAM role ARN the containers run as, or an `iam-role` of the stack."),
        Attr::string("cpu-architecture")
            .default(Default::Str("X86_64"))
            .checks(&[Check::OneOf(&["X86_64", "ARM64"])])
            .doc("The CPU architecture the images are built for."),
        Attr::int("ephemeral-storage")
            .checks(&[Check::Range(21, 200)])
            .doc("Ephemeral storage in GiB (Fargate: 21–200; 20 when omitted)."),
        Attr::blocks("container", &CONTAINER)
            .required()
            .checks(&[Check::Count(1, 10)])
            .doc("The containers of the task, one block per container."),
        Attr::blocks("volume", &VOLUME)
            .doc("Data volumes the containers can mount, one block per volume."),
        Attr::int("keep-revisions")
            .default(Default::Int(5))
            .checks(&[Check::Range(1, 100)])
            .doc("Older ACTIVE revisions beyond this number are deregistered after a deploy."),
        TAGS,
    ],
)
.rules(&[
    Rule::Custom(fargate_awsvpc),
    Rule::Custom(fargate_size),
    Rule::Custom(unique_container_names),
]);

fn is_fargate(body: &BTreeMap<String, Value>) -> bool {
    body.get("requires-compatibilities")
        .and_then(Value::as_list)
        .is_none_or(|l| l.iter().any(|v| v.as_str() == Some("FARGATE")))
}

/// Fargate runs tasks only in the awsvpc network mode.
fn fargate_awsvpc(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let mode = body.get("network-mode").and_then(Value::as_str)?;
    (is_fargate(body) && mode != "awsvpc").then(|| Violation {
        attribute: "network-mode",
        message: format!("Fargate task definitions use the awsvpc network mode, not `{mode}`"),
        help: "remove `network-mode` (it defaults to \"awsvpc\"), or drop \"FARGATE\" from \
               `requires-compatibilities`"
            .into(),
    })
}

/// Fargate's valid task-level CPU/memory combinations.
fn fargate_size(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let fargate = is_fargate(body);
    let (Some(cpu), Some(memory)) = (
        body.get("cpu").and_then(Value::as_int),
        body.get("memory").and_then(Value::as_int),
    ) else {
        return None;
    };
    if !fargate {
        return None;
    }
    let allowed: &[i64] = match cpu {
        256 => &[512, 1024, 2048],
        512 => &[1024, 2048, 3072, 4096],
        1024 => &[2048, 3072, 4096, 5120, 6144, 7168, 8192],
        2048 => &[
            4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384,
        ],
        4096 => &[
            8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384, 17408, 18432, 19456,
            20480, 21504, 22528, 23552, 24576, 25600, 26624, 27648, 28672, 29696, 30720,
        ],
        8192 => &[
            16384, 20480, 24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440,
        ],
        16384 => &[
            32768, 40960, 49152, 57344, 65536, 73728, 81920, 90112, 98304, 106496, 114688, 122880,
        ],
        _ => {
            return Some(Violation {
                attribute: "cpu",
                message: format!("{cpu} is not a Fargate CPU size"),
                help: "Fargate tasks take cpu 256, 512, 1024, 2048, 4096, 8192 or 16384".into(),
            });
        }
    };
    if allowed.contains(&memory) {
        return None;
    }
    let (lo, hi) = (allowed[0], allowed[allowed.len() - 1]);
    Some(Violation {
        attribute: "memory",
        message: format!("Fargate does not run {cpu} CPU units with {memory} MiB"),
        help: format!(
            "with cpu {cpu}, memory must be one of {}",
            if allowed.len() <= 4 {
                allowed
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                format!("{lo} to {hi} in steps of {}", allowed[1] - allowed[0])
            }
        ),
    })
}

fn unique_container_names(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let containers = body.get("container")?.as_list()?;
    let mut seen = std::collections::BTreeSet::new();
    for c in containers {
        if let Some(name) = c
            .as_map()
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            && !seen.insert(name)
        {
            return Some(Violation {
                attribute: "container",
                message: format!("two containers are named `{name}`"),
                help: "container names must be unique within a task definition".into(),
            });
        }
    }
    None
}

static CONTAINER: BlockSchema = BlockSchema::new(
    "container",
    &[
        Attr::string("name")
            .required()
            .checks(&[ECS_NAME])
            .doc("The container name, unique within the task definition."),
        Attr::string("image")
            .required()
            .doc("Image reference, e.g. an ECR URI with a tag. An ECR image is looked up at plan: a missing tag stops the plan, and the task definition registers it by digest (`repo:tag@sha256:…`)."),
        Attr::bool("pin-digest")
            .default(Default::Bool(true))
            .doc("Registers an ECR image by the digest its tag names at plan time, so that what runs cannot change without a plan; `#false` registers the tag as written."),
        Attr::strings("requires-env")
            .doc("Environment variable names the image needs: each must be set in `environment` or `secrets`. An ECR image may also list them in its manifest annotation `dev.infra.required-env` (checked at plan)."),
        Attr::bool("essential")
            .default(Default::Bool(true))
            .doc("When an essential container stops, the whole task stops."),
        Attr::int("cpu")
            .default(Default::Int(0))
            .checks(&[Check::Range(0, 16384)])
            .doc("CPU units reserved for the container."),
        Attr::int("memory")
            .checks(&[Check::Range(6, 122880)])
            .doc("Hard limit in MiB."),
        Attr::int("memory-reservation")
            .checks(&[Check::Range(6, 122880)])
            .doc("Soft limit in MiB."),
        Attr::strings("command").doc("The command the container runs, instead of the image's CMD."),
        Attr::strings("entry-point").doc("Runs instead of the image's ENTRYPOINT."),
        Attr::string("working-directory").doc("The directory the command runs in."),
        Attr::string("user")
            .doc("The user (name or UID, optionally with a group) the container runs as."),
        Attr::bool("readonly-root-filesystem")
            .default(Default::Bool(false))
            .doc("Mounts the container's root file system read-only."),
        Attr::int("stop-timeout")
            .checks(&[Check::Range(2, 120)])
            .doc("Seconds between SIGTERM and SIGKILL when the container is stopped."),
        Attr::blocks("port-mapping", &PORT_MAPPING)
            .doc("Ports the container listens on, one block per port."),
        Attr::string_map("environment")
            .checks(&[ENV_NAMES])
            .doc("Environment variables, name → value; for secret values use `secrets`."),
        Attr::string_map("secrets")
            .checks(&[ENV_NAMES, SECRET_SOURCES])
            .refs(&[RefTo::new(Kind::Secret, "arn")])
            .doc("Environment variable → Secrets Manager secret ARN (usually a reference)."),
        Attr::block("log", &LOG_CONFIG).doc("Where the container's output goes."),
        Attr::block("health-check", &CONTAINER_HEALTH_CHECK)
            .doc("A command run inside the container to decide whether it is healthy."),
        Attr::blocks("mount-point", &MOUNT_POINT)
            .doc("Volumes mounted into the container, one block per mount."),
    ],
)
.label("name")
.rules(&[Rule::Custom(reservation_within_memory)]);

/// Map values that are secret or parameter ARNs (or parameter names).
const SECRET_SOURCES: Check = Check::Custom(
    secret_sources,
    "values are Secrets Manager secret ARNs, Systems Manager parameter ARNs or names",
);

/// A secret's source: a Secrets Manager secret ARN (with an optional JSON key, version stage
/// and version id after it), a Systems Manager parameter ARN, or a parameter name.
fn secret_sources(value: &Value) -> Result<(), (String, String)> {
    for (key, v) in value.as_map().into_iter().flatten() {
        let Some(s) = v.as_str() else { continue };
        let Some(rest) = s.strip_prefix("arn:") else {
            continue; // a Systems Manager parameter name in the task's region
        };
        let parts: Vec<&str> = rest.splitn(6, ':').collect();
        let ok = match parts.as_slice() {
            [_, "secretsmanager", region, account, rest] => {
                !region.is_empty() && !account.is_empty() && rest.starts_with("secret:")
            }
            [_, "secretsmanager", region, account, kind, _] => {
                !region.is_empty() && !account.is_empty() && *kind == "secret"
            }
            [_, "ssm", _, _, rest] => rest.starts_with("parameter/"),
            _ => false,
        };
        if !ok {
            return Err((
                format!("the source of secret `{key}` is not a secret or parameter ARN"),
                "write a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:\
                 secret:<name>), a Systems Manager parameter ARN, or (ref)\"secret.<name>\""
                    .into(),
            ));
        }
    }
    Ok(())
}

fn reservation_within_memory(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let memory = body.get("memory").and_then(Value::as_int)?;
    let reservation = body.get("memory-reservation").and_then(Value::as_int)?;
    (reservation > memory).then(|| Violation {
        attribute: "memory-reservation",
        message: format!(
            "the memory reservation {reservation} MiB is above the hard limit {memory} MiB"
        ),
        help: "memory-reservation (the soft limit) must be at most memory (the hard limit)".into(),
    })
}

/// Map keys that are environment variable names.
const ENV_NAMES: Check = Check::Custom(env_names, "keys are environment variable names");

fn env_names(value: &Value) -> Result<(), (String, String)> {
    for key in value.as_map().into_iter().flat_map(|m| m.keys()) {
        let ok = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err((
                format!("`{key}` is not a valid environment variable name"),
                "use letters, digits and underscores, not starting with a digit".into(),
            ));
        }
    }
    Ok(())
}

static PORT_MAPPING: BlockSchema = BlockSchema::new(
    "port-mapping",
    &[
        Attr::int("container-port")
            .required()
            .checks(PORT)
            .doc("The port the container listens on."),
        Attr::int("host-port")
            .checks(PORT)
            .doc("The port on the host; with `awsvpc` it is the container port."),
        Attr::string("protocol")
            .default(Default::Str("tcp"))
            .checks(&[Check::OneOf(&["tcp", "udp"])])
            .doc("The transport protocol."),
        Attr::string("name").doc("A name for the mapping, used by Service Connect."),
        Attr::string("app-protocol")
            .checks(&[Check::OneOf(&["http", "http2", "grpc"])])
            .doc("The application protocol, used by Service Connect."),
    ],
)
.label("container-port");

static LOG_CONFIG: BlockSchema = BlockSchema::new(
    "log",
    &[
        Attr::string("driver")
            .default(Default::Str("awslogs"))
            .checks(&[LOG_DRIVER])
            .doc(
                "The log driver. awslogs needs `group` (and `stream-prefix` on Fargate). Drivers \
                 that need options infra does not pass (`splunk`, `awsfirelens`, ...) are refused.",
            ),
        Attr::string("group")
            .refs(&[RefTo::new(Kind::LogGroup, "name")])
            .doc("The log group name (usually a reference to a log-group)."),
        Attr::string("stream-prefix")
            .doc("Prefix of the log stream names: `<prefix>/<container>/<task id>`."),
        Attr::string("region")
            .checks(&[REGION])
            .doc("Defaults to the stack's region."),
    ],
)
.rules(&[Rule::Requires("stream-prefix", &["group"])]);

/// The log drivers infra can configure.
const LOG_DRIVER: Check = Check::Custom(log_driver, "`awslogs`, or `json-file` off Fargate");

/// The log drivers infra can configure: `awslogs` everywhere, `json-file` off Fargate. The
/// others need options infra does not pass (splunk-url, a FireLens router container, ...).
fn log_driver(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        None | Some("awslogs" | "json-file") => Ok(()),
        Some(d @ ("splunk" | "awsfirelens" | "fluentd" | "gelf" | "syslog" | "journald")) => Err((
            format!("infra cannot configure the `{d}` log driver"),
            "it needs options (and, for awsfirelens, a log router container) infra does not \
             pass; use \"awslogs\""
                .into(),
        )),
        Some(d) => Err((
            format!("\"{d}\" is not an ECS log driver"),
            "use \"awslogs\" (or \"json-file\" on EC2)".into(),
        )),
    }
}

static CONTAINER_HEALTH_CHECK: BlockSchema = BlockSchema::new(
    "health-check",
    &[
        Attr::strings("command")
            .required()
            .checks(&[Check::Count(1, 100)])
            .doc("e.g. \"CMD-SHELL\" \"curl -f http://localhost:8080/health || exit 1\""),
        Attr::int("interval")
            .default(Default::Int(30))
            .checks(&[Check::Range(5, 300)])
            .doc("Seconds between checks."),
        Attr::int("timeout")
            .default(Default::Int(5))
            .checks(&[Check::Range(2, 60)])
            .doc("Seconds a check may take before it counts as failed."),
        Attr::int("retries")
            .default(Default::Int(3))
            .checks(&[Check::Range(1, 10)])
            .doc("Failed checks in a row before the container is unhealthy."),
        Attr::int("start-period")
            .default(Default::Int(0))
            .checks(&[Check::Range(0, 300)])
            .doc("Seconds after start during which failed checks do not count."),
    ],
);

static MOUNT_POINT: BlockSchema = BlockSchema::new(
    "mount-point",
    &[
        Attr::string("volume")
            .required()
            .doc("The name of a `volume` of the task definition."),
        Attr::string("path")
            .required()
            .doc("Where the volume appears in the container."),
        Attr::bool("read-only")
            .default(Default::Bool(false))
            .doc("Mounts the volume read-only."),
    ],
);

static VOLUME: BlockSchema = BlockSchema::new(
    "volume",
    &[
        Attr::string("name")
            .required()
            .doc("The volume name, which mount points refer to."),
        Attr::block("efs", &EFS_VOLUME).doc("An EFS file system as the volume."),
    ],
)
.label("name");

static EFS_VOLUME: BlockSchema = BlockSchema::new(
    "efs",
    &[
        Attr::string("file-system")
            .required()
            .refs(&[RefTo::new(Kind::Efs, "id")])
            .doc("The EFS file system id (fs-...), or a reference to an `efs` of the stack: `(ref)\"efs.uploads\"`."),
        Attr::string("root-directory")
            .default(Default::Str("/"))
            .doc("The directory of the file system mounted as the volume's root."),
        Attr::bool("transit-encryption")
            .default(Default::Bool(false))
            .doc("Encrypts the traffic between the task and EFS."),
        Attr::string("access-point").doc("An EFS access point id (fsap-...), or one of an `efs` of the stack by name: `(ref)\"efs.uploads.access-points.app\"`."),
        Attr::bool("iam")
            .default(Default::Bool(false))
            .doc("Uses the task role to authorise access to the file system."),
    ],
)
.rules(&[Rule::Requires("access-point", &["transit-encryption"])]);

// ---------------------------------------------------------------- service

pub static SERVICE: ResourceSchema = ResourceSchema {
    title: "ECS service",
    doc: "An ECS service. `apply` waits until its deployment is stable unless `wait-for-steady-state` is `#false`.",
    rules_doc: "a Fargate service (the default launch type) needs a `network` block; `health-check-grace-period` needs a `load-balancer`; `rollback` needs `circuit-breaker` or `alarms`; `bake` needs `alarms`.",
    body: &SERVICE_BODY,
    computed: &[Computed::new("arn", Type::String, "The service's ARN.")],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["cluster", "name"],
    delete_phase: 50,
};

static SERVICE_BODY: BlockSchema = BlockSchema::new(
    "service",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[ECS_NAME])
            .doc("The service name, unique within its cluster."),
        Attr::string("cluster")
            .required()
            .force_new()
            .refs(&[
                RefTo::new(Kind::Cluster, "arn"),
                RefTo::new(Kind::Cluster, "name"),
            ])
            .doc("The cluster's ARN or name (usually a reference)."),
        Attr::string("task-definition")
            .required()
            .refs(&[
                RefTo::new(Kind::TaskDefinition, "arn"),
                RefTo::new(Kind::TaskDefinition, "family"),
            ])
            .doc(
                "The task definition's ARN or family (usually a reference); a new revision starts a deployment.",
            ),
        Attr::int("desired-count")
            .default(Default::Int(1))
            .checks(&[Check::Range(0, 5000)])
            .doc("How many tasks to keep running."),
        Attr::string("desired-count-owner")
            .default(Default::Str("stack"))
            .checks(&[Check::OneOf(&["stack", "autoscaling", "hand"])])
            .doc("Who sets the running count: `stack` (apply sets `desired-count`), or `autoscaling` / `hand` (apply sets `desired-count` only when it creates the service, never resets it afterwards, and the plan shows the live count)."),
        Attr::string("launch-type")
            .default(Default::Str("FARGATE"))
            .force_new()
            .checks(&[Check::OneOf(&["FARGATE", "EC2", "EXTERNAL"])])
            .doc("Where the tasks run."),
        Attr::string("platform-version")
            .default(Default::Str("LATEST"))
            .doc("The Fargate platform version."),
        Attr::block("network", &SERVICE_NETWORK)
            .doc("Subnets and security groups of the tasks (awsvpc networking)."),
        Attr::blocks("load-balancer", &SERVICE_LOAD_BALANCER)
            .checks(&[Check::Count(0, 5)])
            .doc("Target groups the service registers its tasks with, one block per target group."),
        Attr::block("deployment", &DEPLOYMENT).doc("How a deployment replaces running tasks."),
        Attr::int("health-check-grace-period")
            .checks(&[Check::Range(0, 2_147_483_647)])
            .doc("Seconds to ignore failing load balancer health checks after a task starts."),
        Attr::bool("enable-execute-command")
            .default(Default::Bool(false))
            .doc("Allows `aws ecs execute-command` into the tasks."),
        Attr::string("propagate-tags")
            .default(Default::Str("NONE"))
            .checks(&[Check::OneOf(&["SERVICE", "TASK_DEFINITION", "NONE"])])
            .doc("Copies tags to the tasks from the service or the task definition."),
        Attr::bool("wait-for-steady-state")
            .default(Default::Bool(true))
            .doc("Apply waits until the deployment completes and running = desired."),
        TAGS,
    ],
)
.rules(&[
    Rule::Requires("health-check-grace-period", &["load-balancer"]),
    Rule::Custom(awsvpc_needs_network),
]);

fn awsvpc_needs_network(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let fargate = body.get("launch-type").and_then(Value::as_str) == Some("FARGATE");
    if fargate && !body.contains_key("network") {
        return Some(Violation {
            attribute: "network",
            message: "a Fargate service needs a `network` block".into(),
            help: "add `network { subnets ...; security-groups ... }`".into(),
        });
    }
    None
}

static SERVICE_NETWORK: BlockSchema = BlockSchema::new(
    "network",
    &[
        Attr::strings("subnets")
            .required()
            .checks(&[Check::Count(1, 16)])
            .refs(&[RefTo::new(Kind::LookupSubnets, "ids")])
            .doc("Subnets of the tasks' network interfaces."),
        Attr::strings("security-groups")
            .checks(&[Check::Count(0, 5)])
            .refs(&[
                RefTo::new(Kind::LookupSecurityGroups, "ids"),
                RefTo::new(Kind::SecurityGroup, "id"),
            ])
            .doc("Security groups of the tasks."),
        Attr::bool("assign-public-ip")
            .default(Default::Bool(false))
            .doc("Gives each task a public IP address."),
    ],
);

static SERVICE_LOAD_BALANCER: BlockSchema = BlockSchema::new(
    "load-balancer",
    &[
        Attr::string("target-group")
            .required()
            .refs(&[RefTo::new(Kind::TargetGroup, "arn")])
            .doc("The target group's ARN (usually a reference)."),
        Attr::string("container")
            .required()
            .doc("The container that receives the traffic."),
        Attr::int("port")
            .required()
            .checks(PORT)
            .doc("The container port that receives the traffic."),
    ],
)
.label("target-group");

static DEPLOYMENT: BlockSchema = BlockSchema::new(
    "deployment",
    &[
        Attr::int("minimum-healthy-percent")
            .default(Default::Int(100))
            .checks(&[Check::Range(0, 100)])
            .doc("Tasks kept running during a deployment, in percent of `desired-count`."),
        Attr::int("maximum-percent")
            .default(Default::Int(200))
            .checks(&[Check::Range(100, 200)])
            .doc("Tasks allowed to run during a deployment, in percent of `desired-count`."),
        Attr::bool("circuit-breaker")
            .default(Default::Bool(false))
            .doc("Stops a deployment whose tasks keep failing to start."),
        Attr::bool("rollback")
            .default(Default::Bool(false))
            .doc("Rolls back to the last completed deployment when the circuit breaker stops one, or when one of `alarms` goes into ALARM during a deployment."),
        Attr::strings("alarms")
            .refs(&[RefTo::new(Kind::Alarm, "arn"), RefTo::new(Kind::Alarm, "name")])
            .doc("CloudWatch alarms ECS watches during a deployment (usually references: `(ref)\"alarm.api-5xx\"`; a reference names the alarm, plain strings are alarm names). One in ALARM fails the deployment, and `rollback` rolls it back. ECS ignores an alarm that is already in ALARM when a deployment starts: the plan warns about those."),
        Attr::string("bake")
            .checks(&[Check::Custom(bake_duration, "a duration such as 90s, 10m or 1h, at most 24h")])
            .doc("After a deployment that changed the task definition is stable, apply watches `alarms` for this long (`\"5m\"`); one that goes into ALARM makes apply restore the revision that ran before, wait until it serves and exit with code 3. An alarm in ALARM when the deployment started counts once it has left ALARM, as ECS does. Not on create (there is nothing to restore), not with `wait-for-steady-state #false`. How infra applies, not a setting of AWS: changing it alone changes nothing."),
    ],
)
.rules(&[
    Rule::Custom(rollback_needs_breaker_or_alarms),
    Rule::Requires("bake", &["alarms"]),
]);

fn rollback_needs_breaker_or_alarms(body: &BTreeMap<String, Value>) -> Option<Violation> {
    let on = |k: &str| body.get(k) == Some(&Value::Bool(true));
    let alarms = body
        .get("alarms")
        .is_some_and(|a| a.as_list().is_none_or(|l| !l.is_empty()));
    if on("rollback") && !on("circuit-breaker") && !alarms {
        return Some(Violation {
            attribute: "rollback",
            message: "rollback needs the deployment circuit breaker or deployment alarms".into(),
            help: "add `circuit-breaker #true`, or `alarms (ref)\"alarm.<name>\"`".into(),
        });
    }
    None
}

/// `bake` is a duration as `--wait-timeout` takes it.
fn bake_duration(value: &Value) -> Result<(), (String, String)> {
    match value.as_str().map(crate::model::duration::parse) {
        Some(Err(e)) => Err((e, "write a duration such as \"5m\" or \"90s\"".into())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn rollback_needs_the_circuit_breaker_or_alarms() {
        let rollback = ("rollback", Value::Bool(true));
        let broken = rollback_needs_breaker_or_alarms(&block(std::slice::from_ref(&rollback)))
            .expect("rollback alone is refused");
        assert_eq!(broken.attribute, "rollback");
        assert!(
            rollback_needs_breaker_or_alarms(&block(&[
                rollback.clone(),
                ("circuit-breaker", Value::Bool(true))
            ]))
            .is_none()
        );
        let alarms = |items: Vec<Value>| ("alarms", Value::List(items));
        assert!(
            rollback_needs_breaker_or_alarms(&block(&[
                rollback.clone(),
                alarms(vec![Value::String("api-5xx".into())])
            ]))
            .is_none()
        );
        // An empty list names no alarm.
        assert!(
            rollback_needs_breaker_or_alarms(&block(&[rollback, alarms(Vec::new())])).is_some()
        );
    }

    #[test]
    fn bake_is_a_duration_like_wait_timeout() {
        assert!(bake_duration(&Value::String("5m".into())).is_ok());
        assert!(bake_duration(&Value::String("90".into())).is_ok());
        let (message, _) =
            bake_duration(&Value::String("5 minutes".into())).expect_err("not a duration");
        assert!(message.contains("is not a duration"), "{message}");
        let (message, _) = bake_duration(&Value::String("25h".into())).expect_err("too long");
        assert!(message.contains("maximum of 24h"), "{message}");
    }
}
