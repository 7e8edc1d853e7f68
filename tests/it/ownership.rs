//! Never touch what is not ours: for every kind, look-alikes made out of band (names in the
//! stack's pattern, either untagged or tagged as another stack's under the very same address)
//! survive apply, prune, a targeted destroy and a full destroy of the reference stack
//! sake-sensei; and where a look-alike takes a name the stack declares, the plan says whose it
//! is and refuses.

use aws_sdk_elasticloadbalancingv2::types as elb;

use super::harness::expect;
use super::moto::World;
use super::reference::{ENV, SAKE_SENSEI};

/// Another stack that uses the same addresses, in the same account.
const OTHER: &str = "sake-sensei-staging";

/// What a look-alike is, for messages, and how to tell it still exists.
struct Lookalike {
    what: String,
    exists: Box<dyn Fn(&World) -> bool>,
}

fn tags_of(address: &str, other: bool) -> Vec<(String, String)> {
    if other {
        vec![
            ("infra:stack".into(), OTHER.into()),
            ("infra:address".into(), address.into()),
        ]
    } else {
        vec![("made-by".into(), "hand".into())]
    }
}

/// Makes two look-alikes of every kind: `-by-hand` untagged, `-staging` another stack's.
fn make_lookalikes(w: &World) -> Vec<Lookalike> {
    let config = w.config.clone();
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let ecs = aws_sdk_ecs::Client::new(&config);
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let ecr = aws_sdk_ecr::Client::new(&config);
    let acm = aws_sdk_acm::Client::new(&config);
    // The stack's own zone and certificate are for its domain, not the world's.
    let domain = w.stack_domain.clone().unwrap_or_else(|| w.domain.clone());
    let mut out = Vec::new();
    w.rt.block_on(async {
        let vpc = ec2
            .describe_vpcs()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:Name")
                    .values("sakesensei-prod")
                    .build(),
            )
            .send()
            .await
            .expect("the VPC")
            .vpcs()[0]
            .vpc_id()
            .unwrap_or_default()
            .to_string();
        let subnets: Vec<String> = ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:tier")
                    .values("public")
                    .build(),
            )
            .send()
            .await
            .expect("the subnets")
            .subnets()
            .iter()
            .filter(|s| s.vpc_id() == Some(vpc.as_str()))
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        for (suffix, other) in [("by-hand", false), ("staging", true)] {
            let secret = format!("SakeSensei/AgentCore/APIKey-{suffix}");
            let mut create = secrets
                .create_secret()
                .name(&secret)
                .secret_string("look-alike");
            for (k, v) in tags_of("secret.agentcore-api-key", other) {
                create = create.tags(
                    aws_sdk_secretsmanager::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build(),
                );
            }
            create.send().await.expect("a look-alike secret");
            out.push((format!("secret {secret}"), "secret", secret));

            let group = format!("/ecs/sakesensei/streamlit-app-{suffix}");
            let mut create = logs.create_log_group().log_group_name(&group);
            for (k, v) in tags_of("module.streamlit.log-group.this", other) {
                create = create.tags(k, v);
            }
            create.send().await.expect("a look-alike log group");
            out.push((format!("log group {group}"), "log-group", group));

            let alarm = format!("sakesensei-{suffix}-streamlit-app-cpu");
            let mut create = cloudwatch
                .put_metric_alarm()
                .alarm_name(&alarm)
                .namespace("AWS/ECS")
                .metric_name("CPUUtilization")
                .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
                .period(60)
                .evaluation_periods(1)
                .threshold(80.0)
                .comparison_operator(
                    aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
                );
            for (k, v) in tags_of("module.streamlit.alarm.cpu", other) {
                create = create.tags(
                    aws_sdk_cloudwatch::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build(),
                );
            }
            create.send().await.expect("a look-alike alarm");
            out.push((format!("alarm {alarm}"), "alarm", alarm));

            let cluster = format!("sakesensei-prod-{suffix}");
            let mut create = ecs.create_cluster().cluster_name(&cluster);
            for (k, v) in tags_of("cluster.main", other) {
                create = create.tags(aws_sdk_ecs::types::Tag::builder().key(k).value(v).build());
            }
            create.send().await.expect("a look-alike cluster");
            out.push((format!("cluster {cluster}"), "cluster", cluster.clone()));

            let family = format!("streamlit-app-{suffix}");
            let mut create = ecs
                .register_task_definition()
                .family(&family)
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("app")
                        .image("nginx:latest")
                        .memory(512)
                        .build(),
                );
            for (k, v) in tags_of("module.streamlit.task-definition.this", other)
            {
                create = create.tags(aws_sdk_ecs::types::Tag::builder().key(k).value(v).build());
            }
            create.send().await.expect("a look-alike task definition");
            out.push((
                format!("task definition {family}"),
                "task-definition",
                family.clone(),
            ));

            let service = format!("streamlit-app-{suffix}");
            let mut create = ecs
                .create_service()
                .cluster(&cluster)
                .service_name(&service)
                .task_definition(&family)
                .desired_count(0);
            for (k, v) in tags_of("module.streamlit.service.this", other) {
                create = create.tags(aws_sdk_ecs::types::Tag::builder().key(k).value(v).build());
            }
            create.send().await.expect("a look-alike service");
            out.push((
                format!("service {service}"),
                "service",
                format!("{cluster}|{service}"),
            ));

            let lb_tags = |address: &str| -> Vec<elb::Tag> {
                tags_of(address, other)
                    .into_iter()
                    .map(|(k, v)| elb::Tag::builder().key(k).value(v).build())
                    .collect()
            };
            let lb_name = format!("sakesensei-{suffix}");
            let lb = elbv2
                .create_load_balancer()
                .name(&lb_name)
                .set_subnets(Some(subnets.clone()))
                .set_tags(Some(lb_tags("load-balancer.main")))
                .send()
                .await
                .expect("a look-alike load balancer");
            let lb_arn = lb.load_balancers()[0]
                .load_balancer_arn()
                .unwrap_or_default()
                .to_string();
            out.push((
                format!("load balancer {lb_name}"),
                "load-balancer",
                lb_arn.clone(),
            ));
            let tg = elbv2
                .create_target_group()
                .name(format!("streamlit-app-{suffix}"))
                .protocol(elb::ProtocolEnum::Http)
                .port(8501)
                .vpc_id(&vpc)
                .target_type(elb::TargetTypeEnum::Ip)
                .set_tags(Some(lb_tags("module.streamlit.target-group.this")))
                .send()
                .await
                .expect("a look-alike target group");
            let tg_arn = tg.target_groups()[0]
                .target_group_arn()
                .unwrap_or_default()
                .to_string();
            out.push((
                format!("target group streamlit-app-{suffix}"),
                "target-group",
                tg_arn.clone(),
            ));
            let forward = elb::Action::builder()
                .r#type(elb::ActionTypeEnum::Forward)
                .target_group_arn(&tg_arn)
                .build();
            let listener = elbv2
                .create_listener()
                .load_balancer_arn(&lb_arn)
                .protocol(elb::ProtocolEnum::Http)
                .port(80)
                .default_actions(forward.clone())
                .set_tags(Some(lb_tags("listener.http")))
                .send()
                .await
                .expect("a look-alike listener");
            let listener_arn = listener.listeners()[0]
                .listener_arn()
                .unwrap_or_default()
                .to_string();
            out.push((
                format!("listener {lb_name}:80"),
                "listener",
                listener_arn.clone(),
            ));
            let rule = elbv2
                .create_rule()
                .listener_arn(&listener_arn)
                .priority(10)
                .conditions(
                    elb::RuleCondition::builder()
                        .field("path-pattern")
                        .values("/*")
                        .build(),
                )
                .actions(forward)
                .set_tags(Some(lb_tags("module.streamlit.listener-rule.this")))
                .send()
                .await
                .expect("a look-alike rule");
            out.push((
                format!("rule 10 on {lb_name}:80"),
                "listener-rule",
                rule.rules()[0].rule_arn().unwrap_or_default().to_string(),
            ));

            // A record, with a companion TXT record naming another stack when `other`.
            let name = format!("{suffix}.{}", w.domain);
            let mut changes = vec![record_change(&name, "CNAME", "look-alike.example.org")];
            if other {
                changes.push(record_change(
                    &format!("_infra-cname.{name}"),
                    "TXT",
                    &format!(
                        "\"heritage=infra,infra:stack={OTHER},infra:address=module.streamlit.record.this\""
                    ),
                ));
            }
            route53
                .change_resource_record_sets()
                .hosted_zone_id(&w.zone_id)
                .change_batch(
                    aws_sdk_route53::types::ChangeBatch::builder()
                        .set_changes(Some(changes))
                        .build()
                        .expect("a change batch"),
                )
                .send()
                .await
                .expect("a look-alike record");
            out.push((format!("record {name}"), "record", format!("{name}.")));

            // A security group of a look-alike name in the stack's VPC (group names are
            // unique per VPC: the declared name itself would be a collision).
            let group = format!("sakesensei-prod-alb-{suffix}");
            let tags: Vec<aws_sdk_ec2::types::Tag> = tags_of("security-group.alb", other)
                .into_iter()
                .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                .collect();
            let created = ec2
                .create_security_group()
                .group_name(&group)
                .description("HTTP and HTTPS from anywhere, by another hand")
                .vpc_id(&vpc)
                .tag_specifications(
                    aws_sdk_ec2::types::TagSpecification::builder()
                        .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
                        .set_tags(Some(tags))
                        .build(),
                )
                .send()
                .await
                .expect("a look-alike security group");
            out.push((
                format!("security group {group}"),
                "security-group",
                created.group_id().unwrap_or_default().to_string(),
            ));

            // An execution role; another stack's role also names its region (IAM is global).
            let role = format!("sakesensei-prod-execution-{suffix}");
            let mut tags = tags_of("iam-role.execution", other);
            if other {
                tags.push(("infra:region".into(), "us-east-1".into()));
            }
            let mut create = iam.create_role().role_name(&role).assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            );
            for (k, v) in tags {
                create = create.tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .expect("an IAM tag"),
                );
            }
            create.send().await.expect("a look-alike role");
            out.push((format!("role {role}"), "iam-role", role));

            let topic = format!("SakeSensei-Alarms-{suffix}");
            let mut create = sns.create_topic().name(&topic);
            for (k, v) in tags_of("sns-topic.alarms", other) {
                create = create.tags(
                    aws_sdk_sns::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .expect("an SNS tag"),
                );
            }
            let created = create.send().await.expect("a look-alike topic");
            out.push((
                format!("topic {topic}"),
                "sns-topic",
                created.topic_arn().unwrap_or_default().to_string(),
            ));

            let repository = format!("sakesensei/streamlit-app-{suffix}");
            let mut create = ecr.create_repository().repository_name(&repository);
            for (k, v) in tags_of("ecr-repository.streamlit", other) {
                create = create.tags(
                    aws_sdk_ecr::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .expect("an ECR tag"),
                );
            }
            create.send().await.expect("a look-alike repository");
            out.push((
                format!("repository {repository}"),
                "ecr-repository",
                repository,
            ));

            // A second public zone of the stack's very domain (Route53 allows several).
            let created = route53
                .create_hosted_zone()
                .name(&domain)
                .caller_reference(format!("look-alike-{suffix}-{domain}"))
                .hosted_zone_config(
                    aws_sdk_route53::types::HostedZoneConfig::builder()
                        .comment("Sake Sensei")
                        .private_zone(false)
                        .build(),
                )
                .send()
                .await
                .expect("a look-alike hosted zone");
            let zone = created
                .hosted_zone()
                .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
                .unwrap_or_default();
            let tags: Vec<aws_sdk_route53::types::Tag> = tags_of("hosted-zone.main", other)
                .into_iter()
                .map(|(k, v)| aws_sdk_route53::types::Tag::builder().key(k).value(v).build())
                .collect();
            route53
                .change_tags_for_resource()
                .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
                .resource_id(&zone)
                .set_add_tags(Some(tags))
                .send()
                .await
                .expect("the look-alike zone is tagged");
            out.push((
                format!("hosted zone {domain} ({suffix}, {zone})"),
                "hosted-zone",
                zone,
            ));

            // A certificate of the stack's domain (certificates have no name at all).
            let mut create = acm
                .request_certificate()
                .domain_name(&domain)
                .validation_method(aws_sdk_acm::types::ValidationMethod::Dns);
            for (k, v) in tags_of("certificate.site", other) {
                create = create.tags(
                    aws_sdk_acm::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .expect("an ACM tag"),
                );
            }
            let created = create.send().await.expect("a look-alike certificate");
            let arn = created.certificate_arn().unwrap_or_default().to_string();
            out.push((
                format!("certificate for {domain} ({suffix}, {arn})"),
                "certificate",
                arn,
            ));
        }
    });
    out.into_iter()
        .map(|(what, kind, id)| Lookalike {
            what,
            exists: exists(kind, id),
        })
        .collect()
}

fn record_change(name: &str, kind: &str, value: &str) -> aws_sdk_route53::types::Change {
    aws_sdk_route53::types::Change::builder()
        .action(aws_sdk_route53::types::ChangeAction::Upsert)
        .resource_record_set(
            aws_sdk_route53::types::ResourceRecordSet::builder()
                .name(name)
                .r#type(aws_sdk_route53::types::RrType::from(kind))
                .ttl(60)
                .resource_records(
                    aws_sdk_route53::types::ResourceRecord::builder()
                        .value(value)
                        .build()
                        .expect("a record value"),
                )
                .build()
                .expect("a record set"),
        )
        .build()
        .expect("a change")
}

/// How to tell that a look-alike of `kind` identified by `id` still exists.
fn exists(kind: &'static str, id: String) -> Box<dyn Fn(&World) -> bool> {
    Box::new(move |w: &World| {
        let config = w.config.clone();
        w.rt.block_on(async {
            match kind {
                "secret" => aws_sdk_secretsmanager::Client::new(&config)
                    .describe_secret()
                    .secret_id(&id)
                    .send()
                    .await
                    .is_ok_and(|d| d.deleted_date().is_none()),
                "log-group" => aws_sdk_cloudwatchlogs::Client::new(&config)
                    .describe_log_groups()
                    .log_group_name_prefix(&id)
                    .send()
                    .await
                    .is_ok_and(|d| {
                        d.log_groups()
                            .iter()
                            .any(|g| g.log_group_name() == Some(id.as_str()))
                    }),
                "alarm" => aws_sdk_cloudwatch::Client::new(&config)
                    .describe_alarms()
                    .alarm_names(&id)
                    .send()
                    .await
                    .is_ok_and(|d| !d.metric_alarms().is_empty()),
                "cluster" => aws_sdk_ecs::Client::new(&config)
                    .describe_clusters()
                    .clusters(&id)
                    .send()
                    .await
                    .is_ok_and(|d| d.clusters().iter().any(|c| c.status() == Some("ACTIVE"))),
                "task-definition" => aws_sdk_ecs::Client::new(&config)
                    .describe_task_definition()
                    .task_definition(&id)
                    .send()
                    .await
                    .is_ok_and(|d| {
                        d.task_definition()
                            .and_then(|t| t.status())
                            .is_some_and(|s| s.as_str() == "ACTIVE")
                    }),
                "service" => {
                    let (cluster, service) = id.split_once('|').unwrap_or_default();
                    aws_sdk_ecs::Client::new(&config)
                        .describe_services()
                        .cluster(cluster)
                        .services(service)
                        .send()
                        .await
                        .is_ok_and(|d| d.services().iter().any(|s| s.status() == Some("ACTIVE")))
                }
                "load-balancer" => aws_sdk_elasticloadbalancingv2::Client::new(&config)
                    .describe_load_balancers()
                    .load_balancer_arns(&id)
                    .send()
                    .await
                    .is_ok_and(|d| !d.load_balancers().is_empty()),
                "target-group" => aws_sdk_elasticloadbalancingv2::Client::new(&config)
                    .describe_target_groups()
                    .target_group_arns(&id)
                    .send()
                    .await
                    .is_ok_and(|d| !d.target_groups().is_empty()),
                "listener" => aws_sdk_elasticloadbalancingv2::Client::new(&config)
                    .describe_listeners()
                    .listener_arns(&id)
                    .send()
                    .await
                    .is_ok_and(|d| !d.listeners().is_empty()),
                "listener-rule" => aws_sdk_elasticloadbalancingv2::Client::new(&config)
                    .describe_rules()
                    .rule_arns(&id)
                    .send()
                    .await
                    .is_ok_and(|d| !d.rules().is_empty()),
                "security-group" => aws_sdk_ec2::Client::new(&config)
                    .describe_security_groups()
                    .group_ids(&id)
                    .send()
                    .await
                    .is_ok_and(|d| !d.security_groups().is_empty()),
                "iam-role" => aws_sdk_iam::Client::new(&config)
                    .get_role()
                    .role_name(&id)
                    .send()
                    .await
                    .is_ok_and(|d| d.role().is_some()),
                "sns-topic" => aws_sdk_sns::Client::new(&config)
                    .get_topic_attributes()
                    .topic_arn(&id)
                    .send()
                    .await
                    .is_ok(),
                "ecr-repository" => aws_sdk_ecr::Client::new(&config)
                    .describe_repositories()
                    .repository_names(&id)
                    .send()
                    .await
                    .is_ok_and(|d| !d.repositories().is_empty()),
                "hosted-zone" => aws_sdk_route53::Client::new(&config)
                    .get_hosted_zone()
                    .id(&id)
                    .send()
                    .await
                    .is_ok_and(|d| d.hosted_zone().is_some()),
                "certificate" => aws_sdk_acm::Client::new(&config)
                    .describe_certificate()
                    .certificate_arn(&id)
                    .send()
                    .await
                    .is_ok_and(|d| d.certificate().is_some()),
                "record" => aws_sdk_route53::Client::new(&config)
                    .list_resource_record_sets()
                    .hosted_zone_id(&w.zone_id)
                    .send()
                    .await
                    .is_ok_and(|d| d.resource_record_sets().iter().any(|r| r.name() == id)),
                other => panic!("no existence check for the kind `{other}`"),
            }
        })
    })
}

fn assert_all_survive(w: &World, lookalikes: &[Lookalike], after: &str) {
    let gone: Vec<&str> = lookalikes
        .iter()
        .filter(|l| !(l.exists)(w))
        .map(|l| l.what.as_str())
        .collect();
    assert!(gone.is_empty(), "after {after}, gone: {gone:?}");
}

#[test]
fn lookalikes_of_every_kind_survive_apply_prune_and_destroy() {
    let r = &SAKE_SENSEI;
    let mut w = World::isolated("owners");
    r.prepare(&mut w);
    let path = r.path();
    expect(&w.infra(&["apply", &path, "--auto-approve"], ENV), 0);
    let lookalikes = make_lookalikes(&w);
    assert_eq!(lookalikes.len(), 34, "two look-alikes of each of 17 kinds");

    // They change nothing in the plan, and apply leaves them be.
    expect(&w.infra(&["plan", &path, "--detailed-exitcode"], ENV), 0);
    expect(&w.infra(&["apply", &path, "--auto-approve"], ENV), 0);
    assert_all_survive(&w, &lookalikes, "apply");

    // Prune: the service unit leaves the stack and is deleted; the look-alikes stay.
    let modules = format!("{}/modules/", super::harness::root().display());
    let text = std::fs::read_to_string(super::harness::root().join(&path))
        .expect("the reference stack")
        .replace("../modules/", &modules);
    let start = text.find("module \"streamlit\"").expect("the module block");
    let end = start + text[start..].find("\n}\n").expect("its end") + 3;
    let pruned = w.dir.join("pruned.kdl");
    let rest: String = text[end..]
        .lines()
        .filter(|l| !l.contains("module.streamlit"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&pruned, format!("{}{rest}", &text[..start]))
        .expect("the pruned stack is written");
    let pruned = pruned.display().to_string();
    let plan = w.infra(&["plan", &pruned, "--detailed-exitcode"], ENV);
    expect(&plan, 2);
    assert!(
        plan.stdout.contains("- module.streamlit.service.this"),
        "{}",
        plan.stdout
    );
    expect(&w.infra(&["apply", &pruned, "--auto-approve"], ENV), 0);
    assert_all_survive(&w, &lookalikes, "prune");

    // A targeted destroy, then the full one.
    expect(&w.infra(&["apply", &path, "--auto-approve"], ENV), 0);
    expect(
        &w.infra(
            &[
                "destroy",
                &path,
                "--auto-approve",
                "--target",
                "module.streamlit",
            ],
            ENV,
        ),
        0,
    );
    assert_all_survive(&w, &lookalikes, "a targeted destroy");
    r.empty_repository(&w);
    expect(&w.infra(&["destroy", &path, "--auto-approve"], ENV), 0);
    assert_all_survive(&w, &lookalikes, "destroy");

    // Where a look-alike holds a name the stack declares, the plan says whose it is.
    let taken = std::fs::read_to_string(super::harness::root().join(&path))
        .expect("the reference stack")
        .replace("../modules/", &modules)
        .replace(
            "name \"sakesensei-prod\"\n    container-insights",
            "name \"sakesensei-prod-by-hand\"\n    container-insights",
        )
        .replace(
            "name \"sakesensei-prod\"\n    scheme",
            "name \"sakesensei-staging\"\n    scheme",
        )
        .replace(
            "name \"SakeSensei/AgentCore/APIKey\"",
            "name \"SakeSensei/AgentCore/APIKey-staging\"",
        );
    let taken_path = w.dir.join("taken.kdl");
    std::fs::write(&taken_path, taken).expect("the stack is written");
    let plan = w.infra(&["plan", &taken_path.display().to_string()], ENV);
    expect(&plan, 1);
    // The stack's own zone is gone now: its look-alikes hold the declared domain (which of
    // the two the plan names follows Route53's listing order).
    let zone = format!(
        "hosted zone `{}` already exists",
        w.stack_domain.as_deref().unwrap_or(&w.domain)
    );
    for part in [
        zone.as_str(),
        "--adopt hosted-zone.main",
        "`sakesensei-prod-by-hand` already exists and no stack owns it",
        "application load balancer `sakesensei-staging` already exists and belongs to stack",
        "secret `SakeSensei/AgentCore/APIKey-staging` already exists and belongs to",
        "`listener.http` wants the same listener",
        "infra never takes a resource from another stack",
        "--adopt cluster.main",
    ] {
        assert!(plan.stderr.contains(part), "{part}:\n{}", plan.stderr);
    }
    assert_all_survive(&w, &lookalikes, "the refused plan");
}
