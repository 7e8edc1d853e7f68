//! The text of the files `infra init` writes: a stack built on the shipped web-service module,
//! one variable file per environment, and that module itself. Each is already in `infra fmt`'s
//! layout (a test formats them and compares).

use super::{Answers, is_production};

/// Where the stack finds the module, relative to the stack file.
pub const MODULE_PATH: &str = "modules/web-service.kdl";

/// The shipped module, written next to a new stack that has none.
pub const MODULE: &str = include_str!("../../modules/web-service.kdl");

/// The stack file; `@WORD@` marks what the answers fill in.
const STACK: &str = r#"// @NAME@: a web service on Fargate behind an HTTPS load balancer, one stack per environment
// (`@NAME@-<environment>`), written by `infra init`. Each environment's values are in its
// variable file:
//
//   infra plan @NAME@.kdl --var-file @FIRST@.vars
//   infra apply @NAME@.kdl --var-file @FIRST@.vars --var image-tag=<tag>
//
// It owns a cluster, a load balancer with its listeners, a generated secret and, through
// @MODULE@, the task definition, service, target group, listener rule, log group,
// DNS record and alarms. It looks up what it does not own, which must exist first: the VPC
// tagged Name=<stack name>, its subnets tagged tier=public and tier=private, the security groups
// <stack name>-alb and <stack name>-service, the hosted zone of `domain`, an issued certificate
// for *.<domain>, the IAM role <stack name>-execution and the SNS topic <stack name>-alarms.

stack "@NAME@-${var.environment}" region="@REGION@" production=(var)"production" {
    tags {
        project "@NAME@"
        environment "${var.environment}"
    }
}

variable "environment" type="string" description="The environment this copy of the service runs in" {
    validation @ENVIRONMENTS@ message="environment is one of @LIST@"
}
variable "production" type="bool" default=#false description="The environment serves production: a mutable image tag stops its plans"
variable "image-tag" type="string" default="@TAG@" description="Tag of the @REPOSITORY@ image to deploy" {
    validation pattern="^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$" message="an image tag is up to 128 letters, digits, dots, dashes and underscores"
}
variable "domain" type="string" default="@DOMAIN@" description="The public hosted zone the service answers in"
variable "host" type="string" description="The host name the service answers on, in the hosted zone"
variable "desired-count" type="int" default=2 description="Running tasks" {
    validation min=0 max=100
}
variable "account-id" type="string" default="@ACCOUNT@" description="The AWS account of the execution role and the alarm topic" {
    validation pattern="^[0-9]{12}$" message="an AWS account id is 12 digits"
}

lookup "vpc" "main" {
    tags {
        Name "${stack.name}"
    }
}
lookup "subnets" "public" {
    vpc (ref)"lookup.vpc.main"
    tags {
        tier "public"
    }
}
lookup "subnets" "private" {
    vpc (ref)"lookup.vpc.main"
    tags {
        tier "private"
    }
}
lookup "security-groups" "alb" {
    vpc (ref)"lookup.vpc.main"
    names "${stack.name}-alb"
}
lookup "security-groups" "service" {
    vpc (ref)"lookup.vpc.main"
    names "${stack.name}-service"
}
lookup "certificate" "main" domain="*.${var.domain}"
lookup "hosted-zone" "main" name=(var)"domain"

cluster "main" {
    name "${stack.name}"
    container-insights "enabled"
    capacity-providers "FARGATE"
}

// A value made once by infra and never shown; the service reads it as APP_SECRET.
secret "app" {
    name "${stack.name}/app-secret"
    description "Secret key of @NAME@ in ${var.environment}"
    value {
        generate length=32 exclude-punctuation=#true
    }
}

load-balancer "main" {
    name "${stack.name}"
    scheme "internet-facing"
    subnets (ref)"lookup.subnets.public"
    security-groups (ref)"lookup.security-groups.alb"
}

listener "http" {
    load-balancer (ref)"load-balancer.main"
    port 80
    protocol "HTTP"
    redirect protocol="HTTPS" port="443" status-code="HTTP_301"
}

listener "https" {
    load-balancer (ref)"load-balancer.main"
    port 443
    protocol "HTTPS"
    certificate (ref)"lookup.certificate.main"
    ssl-policy "ELBSecurityPolicy-TLS13-1-2-2021-06"
    fixed-response status-code=404 content-type="text/plain" body="not found"
}

module "web" source="@MODULE@" {
    name "${stack.name}"
    cluster (ref)"cluster.main"
    cluster-name (ref)"cluster.main.name"
    image "@REPOSITORY@:${var.image-tag}"
    port @PORT@
    desired-count (var)"desired-count"
    environment {
        APP_ENV "${var.environment}"
    }
    secrets {
        APP_SECRET (ref)"secret.app"
    }
    execution-role "arn:aws:iam::${var.account-id}:role/${stack.name}-execution"
    vpc (ref)"lookup.vpc.main"
    subnets (ref)"lookup.subnets.private"
    security-groups (ref)"lookup.security-groups.service"
    listener (ref)"listener.https"
    load-balancer-arn-suffix (ref)"load-balancer.main.arn-suffix"
    priority 100
    host (var)"host"
    zone (ref)"lookup.hosted-zone.main"
    load-balancer-dns (ref)"load-balancer.main.dns-name"
    load-balancer-zone (ref)"load-balancer.main.zone-id"
    alarm-topic "arn:aws:sns:${stack.region}:${var.account-id}:${stack.name}-alarms"
}

output "url" "https://${var.host}"
output "load-balancer-dns" (ref)"load-balancer.main.dns-name"
"#;

/// The stack file of `answers`.
pub fn stack_text(answers: &Answers) -> String {
    let quoted: Vec<String> = answers
        .environments
        .iter()
        .map(|e| format!("\"{e}\""))
        .collect();
    let first = answers
        .environments
        .first()
        .map_or("staging", String::as_str);
    STACK
        .replace("@NAME@", &answers.name)
        .replace("@REGION@", &answers.region)
        .replace("@DOMAIN@", &answers.domain)
        .replace("@REPOSITORY@", &answers.image.repository)
        .replace("@TAG@", &answers.image.tag)
        .replace("@PORT@", &answers.port.to_string())
        .replace("@ACCOUNT@", &answers.account)
        .replace("@ENVIRONMENTS@", &quoted.join(" "))
        .replace("@LIST@", &answers.environments.join(", "))
        .replace("@FIRST@", first)
        .replace("@MODULE@", MODULE_PATH)
}

/// The variable file of one environment: production answers on `<name>.<domain>`, every other
/// environment on `<name>-<environment>.<domain>`.
pub fn vars_text(answers: &Answers, environment: &str) -> String {
    let name = &answers.name;
    let domain = &answers.domain;
    let mut text = format!(
        "// The values of {name}-{environment}: infra plan {name}.kdl --var-file {environment}.vars\n\
         environment \"{environment}\"\n"
    );
    if is_production(environment) {
        text.push_str("production #true\n");
        text.push_str(&format!("host \"{name}.{domain}\"\n"));
    } else {
        text.push_str(&format!("host \"{name}-{environment}.{domain}\"\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::Image;
    use crate::lang::format::format;

    fn answers() -> Answers {
        Answers {
            name: "shop".into(),
            region: "eu-west-1".into(),
            domain: "example.com".into(),
            image: Image {
                repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop".into(),
                tag: "1.0.0".into(),
            },
            port: 3000,
            environments: vec!["staging".into(), "production".into()],
            account: "123456789012".into(),
        }
    }

    #[test]
    fn every_answer_is_filled_in() {
        let text = stack_text(&answers());
        assert!(!text.contains('@'), "a mark left unfilled:\n{text}");
        assert!(text.contains("stack \"shop-${var.environment}\" region=\"eu-west-1\""));
        assert!(text.contains("validation \"staging\" \"production\""));
        assert!(text.contains(
            "image \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:${var.image-tag}\""
        ));
        assert!(text.contains("variable \"image-tag\" type=\"string\" default=\"1.0.0\""));
        assert!(text.contains("    port 3000\n"));
        assert!(text.contains("default=\"example.com\""));
        assert!(text.contains("source=\"modules/web-service.kdl\""));
    }

    #[test]
    fn production_is_marked_and_answers_on_the_bare_name() {
        let a = answers();
        assert_eq!(
            vars_text(&a, "staging"),
            "// The values of shop-staging: infra plan shop.kdl --var-file staging.vars\n\
             environment \"staging\"\n\
             host \"shop-staging.example.com\"\n"
        );
        let production = vars_text(&a, "production");
        assert!(production.contains("production #true\n"));
        assert!(production.contains("host \"shop.example.com\"\n"));
    }

    #[test]
    fn the_files_are_already_formatted() {
        let a = answers();
        for file in a.files() {
            let formatted = format(&file.text).expect("the template is KDL");
            assert_eq!(formatted, file.text, "{} is not formatted", file.path);
        }
        assert_eq!(format(MODULE).expect("the module is KDL"), MODULE);
    }

    #[test]
    fn the_files_are_the_stack_and_one_variable_file_per_environment() {
        let paths: Vec<String> = answers().files().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["shop.kdl", "staging.vars", "production.vars"]);
    }
}
