//! Generates stack files of about N resources shaped like the reference stacks: shared
//! clusters, load balancers, listeners, security groups and a rule between them, execution
//! roles, alarm topics, image repositories, a log metric filter and the scaling of one service,
//! and per-service units of target group, listener rule, task definition, service, log group,
//! DNS record, secret and four alarms, all referencing each other the way real stacks do.
//!
//! Like the reference stacks, the services run images from the stack's own repository: each
//! shared group's repository holds its services' images, one tag per service
//! (`svc-<u>-<image-tag>`, see [`image_tag`]), so a stack is bootstrapped as they are: the
//! repositories first ([`repositories`]), the images pushed, then the whole stack.

use std::fmt::Write;

/// Resources in one service unit.
pub const UNIT: usize = 11;
/// Resources shared by up to [`UNITS_PER_SHARED`] units (counted by `tests/it/scale.rs`; the
/// benchmarks that include this file count the stack's nodes instead).
#[allow(dead_code)]
pub const SHARED: usize = 12;
/// Service units sharing one cluster, load balancer and pair of listeners.
pub const UNITS_PER_SHARED: usize = 20;

/// How many service units a stack of roughly `n` resources has.
pub fn units(n: usize) -> usize {
    (n / UNIT).max(1)
}

/// The addresses of the repositories of a stack of roughly `n` resources, for the bootstrap's
/// `--target`s.
#[allow(dead_code)]
pub fn repositories(n: usize) -> Vec<String> {
    (0..units(n).div_ceil(UNITS_PER_SHARED))
        .map(|s| format!("ecr-repository.base{s}"))
        .collect()
}

/// The repository (its name) and tag that service unit `u` runs, for an image tag `tag`.
#[allow(dead_code)]
pub fn image_tag(u: usize, tag: &str) -> (String, String) {
    (
        format!("bench-base-{}", u / UNITS_PER_SHARED),
        format!("svc-{u}-{tag}"),
    )
}

/// A stack of roughly `n` resources (never fewer than one unit).
pub fn stack(n: usize) -> String {
    let units = units(n);
    let mut out = String::with_capacity(units * 3_000);
    out.push_str(
        "stack \"bench\" region=\"us-east-1\" {\n    tags {\n        env \"bench\"\n    }\n}\n\n\
         variable \"image-tag\" type=\"string\" default=\"v1\"\n\n\
         lookup \"vpc\" \"main\" id=\"vpc-0123456789abcdef0\"\n\
         lookup \"subnets\" \"private\" {\n    vpc (ref)\"lookup.vpc.main\"\n    tags {\n        tier \"private\"\n    }\n}\n\
\
         lookup \"certificate\" \"wildcard\" domain=\"*.example.com\"\n\
         lookup \"hosted-zone\" \"main\" name=\"example.com\"\n\n",
    );
    for shared in 0..units.div_ceil(UNITS_PER_SHARED) {
        // The group's first service: the one that scales and whose errors are counted.
        let first = shared * UNITS_PER_SHARED;
        let _ = write!(
            out,
            r#"cluster "c{shared}" {{
    name "bench-{shared}"
    container-insights "enabled"
}}

security-group "alb{shared}" {{
    name "bench-alb-{shared}"
    description "load balancer {shared}"
    vpc (ref)"lookup.vpc.main"
    ingress {{
        port 443
        cidr "0.0.0.0/0"
    }}
}}

security-group "app{shared}" {{
    name "bench-app-{shared}"
    description "services behind load balancer {shared}"
    vpc (ref)"lookup.vpc.main"
    ingress {{
        port 8080
        security-group (ref)"security-group.alb{shared}.id"
    }}
}}

security-group-rule "alb-to-app{shared}" {{
    group (ref)"security-group.alb{shared}.id"
    direction "egress"
    port 8080
    security-group (ref)"security-group.app{shared}.id"
    description "to the services"
}}

iam-role "execution{shared}" {{
    name "bench-execution-{shared}"
    trust "ecs-tasks"
    managed-policies "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}}

sns-topic "alarms{shared}" {{
    name "bench-alarms-{shared}"
}}

ecr-repository "base{shared}" {{
    name "bench-base-{shared}"
}}

load-balancer "lb{shared}" {{
    name "bench-lb-{shared}"
    subnets (ref)"lookup.subnets.private"
    security-groups (ref)"security-group.alb{shared}"
    idle-timeout 60
}}

log-metric-filter "errors{shared}" {{
    log-group (ref)"log-group.svc{first}.name"
    name "errors"
    pattern "?ERROR ?Exception"
    metric-name "Errors"
    metric-namespace "bench/svc-{first}"
}}

scaling "svc{first}" {{
    service (ref)"service.svc{first}"
    min 2
    max 10
    target-tracking "cpu" {{
        metric "cpu"
        target 60
    }}
}}

listener "http{shared}" {{
    load-balancer (ref)"load-balancer.lb{shared}"
    port 80
    protocol "HTTP"
    redirect protocol="HTTPS" port="443" status-code="HTTP_301"
}}

listener "https{shared}" {{
    load-balancer (ref)"load-balancer.lb{shared}"
    port 443
    protocol "HTTPS"
    certificate (ref)"lookup.certificate.wildcard"
    fixed-response status-code=404 content-type="text/plain" body="not found"
}}

"#
        );
    }
    for u in 0..units {
        unit(&mut out, u);
    }
    out
}

fn unit(out: &mut String, u: usize) {
    let s = u / UNITS_PER_SHARED;
    let priority = u % UNITS_PER_SHARED + 1;
    let _ = write!(
        out,
        r#"log-group "svc{u}" {{
    name "/ecs/svc-{u}"
    retention-days 30
}}

secret "svc{u}" {{
    name "bench/svc-{u}/api-key"
    description "API key of service {u}"
    value unmanaged=#true
}}

target-group "svc{u}" {{
    name "svc-{u}"
    port 8080
    vpc (ref)"lookup.vpc.main"
    target-type "ip"
    health-check {{
        path "/health"
        interval 30
        matcher "200-399"
    }}
    deregistration-delay 30
}}

listener-rule "svc{u}" {{
    listener (ref)"listener.https{s}"
    priority {priority}
    host-header "svc-{u}.example.com"
    forward (ref)"target-group.svc{u}"
}}

task-definition "svc{u}" {{
    family "svc-{u}"
    cpu 512
    memory 1024
    execution-role (ref)"iam-role.execution{s}"
    container "app" {{
        image "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench-base-{s}:svc-{u}-${{var.image-tag}}"
        port-mapping 8080 name="http"
        environment {{
            SERVICE "svc-{u}"
            LOG_LEVEL "info"
        }}
        secrets {{
            API_KEY (ref)"secret.svc{u}"
        }}
        log group=(ref)"log-group.svc{u}" stream-prefix="app"
    }}
}}

service "svc{u}" {{
    name "svc-{u}"
    cluster (ref)"cluster.c{s}"
    task-definition (ref)"task-definition.svc{u}"
    desired-count 2
    network {{
        subnets (ref)"lookup.subnets.private"
        security-groups (ref)"security-group.app{s}"
    }}
    load-balancer (ref)"target-group.svc{u}" container="app" port=8080
    deployment {{
        circuit-breaker #true
        rollback #true
    }}
    depends-on "listener-rule.svc{u}"
}}

record "svc{u}" {{
    zone (ref)"lookup.hosted-zone.main"
    name "svc-{u}.example.com"
    type "A"
    alias (ref)"load-balancer.lb{s}"
}}

"#
    );
    for (metric, ns, stat) in [
        ("CPUUtilization", "AWS/ECS", "Average"),
        ("MemoryUtilization", "AWS/ECS", "Average"),
    ] {
        let _ = write!(
            out,
            r#"alarm "svc{u}-{metric}" {{
    name "svc-{u}-{metric}"
    namespace "{ns}"
    metric "{metric}"
    dimensions ClusterName="bench-{s}" ServiceName="svc-{u}"
    statistic "{stat}"
    period 60
    evaluation-periods 10
    threshold 80
    comparison "GreaterThanThreshold"
    actions (ref)"sns-topic.alarms{s}"
}}

"#
        );
    }
    let _ = write!(
        out,
        r#"alarm "svc{u}-5xx" {{
    name "svc-{u}-5xx-rate"
    query "rate" expression="100 * errors / requests" return-data=#true
    query "errors" namespace="AWS/ApplicationELB" metric="HTTPCode_Target_5XX_Count" stat="Sum" period=60 {{
        dimensions LoadBalancer=(ref)"load-balancer.lb{s}.arn-suffix" TargetGroup=(ref)"target-group.svc{u}.arn-suffix"
    }}
    query "requests" namespace="AWS/ApplicationELB" metric="RequestCount" stat="Sum" period=60 {{
        dimensions LoadBalancer=(ref)"load-balancer.lb{s}.arn-suffix" TargetGroup=(ref)"target-group.svc{u}.arn-suffix"
    }}
    evaluation-periods 5
    threshold 5
    comparison "GreaterThanThreshold"
    actions (ref)"sns-topic.alarms{s}"
}}

alarm "svc{u}-latency" {{
    name "svc-{u}-latency-p95"
    namespace "AWS/ApplicationELB"
    metric "TargetResponseTime"
    dimensions LoadBalancer=(ref)"load-balancer.lb{s}.arn-suffix" TargetGroup=(ref)"target-group.svc{u}.arn-suffix"
    percentile "p95"
    period 60
    evaluation-periods 5
    threshold 2
    comparison "GreaterThanThreshold"
    actions (ref)"sns-topic.alarms{s}"
}}

"#
    );
}
