//! EFS end to end against the moto server: a file system with two mount targets in the default
//! VPC's subnets and an access point, mounted by a task definition through references; its
//! updates, drift repair, a look-alike that survives, and destroy.
//!
//! moto 5.2.5 implements neither UpdateFileSystem nor PutBackupPolicy: a change of throughput
//! mode is shown by a plan here, and applied only against AWS.

use aws_sdk_efs::types::Tag;

use super::harness::expect;
use super::live_ecs::{FAST_POLL, network};
use super::moto::World;

/// What the stack varies between steps.
struct Shape<'a> {
    groups: &'a str,
    ia: &'a str,
    extra_point: bool,
    app_point: bool,
    team: &'a str,
}

const FIRST: Shape = Shape {
    groups: "",
    ia: "AFTER_30_DAYS",
    extra_point: false,
    app_point: true,
    team: "web",
};

fn stack_text(
    w: &World,
    subnets: &[String],
    default_sg: &str,
    other_sg: &str,
    s: &Shape,
) -> String {
    let groups = if s.groups.is_empty() {
        format!("\"{default_sg}\"")
    } else {
        s.groups
            .replace("OTHER", other_sg)
            .replace("DEFAULT", default_sg)
    };
    let app = if s.app_point {
        "    access-point \"app\" {\n        path \"/app\"\n        uid 1000\n        gid 1000\n        permissions \"750\"\n    }\n"
    } else {
        ""
    };
    let extra = if s.extra_point {
        "    access-point \"reports\" {\n        path \"/reports\"\n        uid 2000\n        gid 2000\n        permissions \"0700\"\n    }\n"
    } else {
        ""
    };
    let volume = if s.app_point {
        "access-point (ref)\"efs.uploads.access-points.app\"\n            transit-encryption #true"
    } else {
        "transit-encryption #true"
    };
    format!(
        r#"stack "{stack}" region="us-east-1"

variable "domain" type="string" default="example.com" allow="the test harness passes it to every plan"

efs "uploads" {{
    name "{stack}-uploads"
    encrypted #true
    lifecycle-policy {{
        transition-to-ia "{ia}"
    }}
    mount-target {{
        subnets "{a}"
        security-groups {groups}
    }}
    mount-target {{
        subnets "{b}"
        security-groups "{default_sg}"
    }}
{app}{extra}    tags {{
        team "{team}"
    }}
}}

task-definition "app" {{
    family "{stack}-app"
    cpu 256
    memory 512
    execution-role "arn:aws:iam::123456789012:role/{stack}-execution"
    container "web" {{
        image "nginx:1.27"
        mount-point volume="uploads" path="/srv/uploads"
    }}
    volume "uploads" {{
        efs {{
            file-system (ref)"efs.uploads"
            {volume}
        }}
    }}
}}
"#,
        stack = w.stack,
        a = subnets[0],
        b = subnets[1],
        ia = s.ia,
        team = s.team,
    )
}

fn write(w: &World, text: &str) -> String {
    let path = w.dir.join("efs.kdl");
    std::fs::write(&path, text).expect("the stack file is written");
    path.to_string_lossy().into_owned()
}

fn no_changes(w: &World, stack: &str) {
    let plan = w.infra(&["plan", stack, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 0);
    assert!(plan.stdout.starts_with("No changes"), "{}", plan.stdout);
}

/// A security group of the default VPC for this test.
fn other_group(w: &World) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&w.config);
    w.rt.block_on(async {
        ec2.create_security_group()
            .group_name(format!("{}-efs", w.stack))
            .description("efs test")
            .send()
            .await
            .expect("moto creates the group")
            .group_id()
            .expect("a group id")
            .to_string()
    })
}

/// What moto holds: file systems named `name`, with (subnet, security groups) of each mount
/// target, the access points' names and the file system's tags.
struct Seen {
    ids: Vec<String>,
    targets: Vec<(String, Vec<String>)>,
    points: Vec<String>,
    tags: Vec<(String, String)>,
    lifecycle: Vec<String>,
}

fn seen(w: &World, name: &str) -> Seen {
    let efs = aws_sdk_efs::Client::new(&w.config);
    w.rt.block_on(async {
        let all = efs
            .describe_file_systems()
            .max_items(100)
            .send()
            .await
            .expect("moto describes file systems");
        let mine: Vec<_> = all
            .file_systems()
            .iter()
            .filter(|fs| fs.name() == Some(name))
            .filter(|fs| fs.tags().iter().any(|t| t.key() == "infra:stack"))
            .cloned()
            .collect();
        let mut out = Seen {
            ids: mine
                .iter()
                .map(|f| f.file_system_id().to_string())
                .collect(),
            targets: Vec::new(),
            points: Vec::new(),
            tags: Vec::new(),
            lifecycle: Vec::new(),
        };
        let Some(fs) = mine.first() else {
            return out;
        };
        let id = fs.file_system_id();
        out.tags = fs
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        out.tags.sort();
        let targets = efs
            .describe_mount_targets()
            .file_system_id(id)
            .send()
            .await
            .expect("moto describes mount targets");
        for mt in targets.mount_targets() {
            let mut groups = efs
                .describe_mount_target_security_groups()
                .mount_target_id(mt.mount_target_id())
                .send()
                .await
                .expect("moto describes the groups")
                .security_groups()
                .to_vec();
            groups.sort();
            out.targets.push((mt.subnet_id().to_string(), groups));
        }
        out.targets.sort();
        let points = efs
            .describe_access_points()
            .file_system_id(id)
            .send()
            .await
            .expect("moto describes access points");
        out.points = points
            .access_points()
            .iter()
            .filter_map(|p| p.name().map(str::to_string))
            .collect();
        out.points.sort();
        let lifecycle = efs
            .describe_lifecycle_configuration()
            .file_system_id(id)
            .send()
            .await
            .expect("moto describes the lifecycle");
        out.lifecycle = lifecycle
            .lifecycle_policies()
            .iter()
            .filter_map(|p| p.transition_to_ia().map(|r| r.as_str().to_string()))
            .collect();
        out
    })
}

#[test]
fn a_file_system_is_created_updated_repaired_and_destroyed() {
    let w = World::new("efs");
    let (subnets, default_sg) = network(&w);
    let other_sg = other_group(&w);
    let name = format!("{}-uploads", w.stack);
    let stack = write(
        &w,
        &stack_text(&w, &subnets, &default_sg, &other_sg, &FIRST),
    );

    // Create from nothing: the file system, two mount targets, one access point, and a task
    // definition that mounts it through references.
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&apply, 0);
    assert!(
        apply
            .stdout
            .contains("Apply complete: 2 created, 0 updated, 0 replaced, 0 deleted, 0 adopted."),
        "{}",
        apply.stdout
    );
    let made = seen(&w, &name);
    assert_eq!(made.ids.len(), 1, "one file system");
    assert_eq!(
        made.targets,
        vec![
            (subnets[0].clone(), vec![default_sg.clone()]),
            (subnets[1].clone(), vec![default_sg.clone()])
        ]
    );
    assert_eq!(made.points, ["app"]);
    assert_eq!(made.lifecycle, ["AFTER_30_DAYS"]);
    let volume = task_volume(&w);
    assert_eq!(volume.0.as_deref(), Some(made.ids[0].as_str()));
    assert!(
        volume
            .1
            .as_deref()
            .is_some_and(|ap| ap.starts_with("fsap-")),
        "{volume:?}"
    );
    no_changes(&w, &stack);

    // Updates: lifecycle, one mount target's security groups, an access point added and one
    // removed (the task definition moves to the file system's root), and a tag.
    let second = Shape {
        groups: "\"DEFAULT\" \"OTHER\"",
        ia: "AFTER_60_DAYS",
        extra_point: true,
        app_point: false,
        team: "storage",
    };
    let stack = write(
        &w,
        &stack_text(&w, &subnets, &default_sg, &other_sg, &second),
    );
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 2);
    let text = w
        .redact(&plan.stdout)
        .replace(&subnets[0], "SUBNET-A")
        .replace(&subnets[1], "SUBNET-B")
        .replace(&other_sg, "SG-OTHER")
        .replace(&default_sg, "SG-DEFAULT")
        .replace(&made.ids[0], "FS-ID")
        // Group ids are sorted in the plan; their order depends on the random ids.
        .replace(
            "[\"SG-OTHER\", \"SG-DEFAULT\"]",
            "[\"SG-DEFAULT\", \"SG-OTHER\"]",
        );
    let text = redact_access_points(&text);
    insta::assert_snapshot!("efs_update_plan", text);
    let apply = w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&apply, 0);
    no_changes(&w, &stack);
    let after = seen(&w, &name);
    assert_eq!(
        after.ids, made.ids,
        "the same file system, updated in place"
    );
    let mut both = vec![default_sg.clone(), other_sg.clone()];
    both.sort();
    assert_eq!(
        after.targets,
        vec![
            (subnets[0].clone(), both),
            (subnets[1].clone(), vec![default_sg.clone()])
        ]
    );
    assert_eq!(after.points, ["reports"]);
    assert_eq!(after.lifecycle, ["AFTER_60_DAYS"]);
    assert!(
        after.tags.contains(&("team".into(), "storage".into())),
        "{:?}",
        after.tags
    );

    // A change of throughput mode is planned in place (moto cannot apply it).
    let elastic = std::fs::read_to_string(&stack).expect("the stack").replace(
        "    encrypted #true\n",
        "    encrypted #true\n    throughput-mode \"elastic\"\n",
    );
    let elastic_path = write(&w, &elastic);
    let plan = w.infra(
        &["plan", &elastic_path, "--detailed-exitcode"],
        &[FAST_POLL],
    );
    expect(&plan, 2);
    assert!(
        plan.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("throughput-mode")
                && l.ends_with("\"bursting\" → \"elastic\"")),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("0 to replace"), "{}", plan.stdout);
    let stack = write(
        &w,
        &stack_text(&w, &subnets, &default_sg, &other_sg, &second),
    );

    // Drift: a mount target deleted out of band comes back.
    let efs = aws_sdk_efs::Client::new(&w.config);
    w.rt.block_on(async {
        let targets = efs
            .describe_mount_targets()
            .file_system_id(&made.ids[0])
            .send()
            .await
            .expect("moto describes mount targets");
        let gone = targets
            .mount_targets()
            .iter()
            .find(|mt| mt.subnet_id() == subnets[1])
            .expect("the second mount target");
        efs.delete_mount_target()
            .mount_target_id(gone.mount_target_id())
            .send()
            .await
            .expect("moto deletes the mount target");
    });
    let plan = w.infra(&["plan", &stack, "--detailed-exitcode"], &[FAST_POLL]);
    expect(&plan, 2);
    assert!(plan.stdout.contains("mount-target"), "{}", plan.stdout);
    expect(
        &w.infra(&["apply", &stack, "--auto-approve"], &[FAST_POLL]),
        0,
    );
    assert_eq!(seen(&w, &name).targets.len(), 2, "the mount target is back");
    no_changes(&w, &stack);

    // A look-alike: a file system with the same Name that the stack does not own.
    let lookalike = w.rt.block_on(async {
        efs.create_file_system()
            .creation_token(format!("{}-by-hand", w.stack))
            .tags(
                Tag::builder()
                    .key("Name")
                    .value(&name)
                    .build()
                    .expect("a tag"),
            )
            .send()
            .await
            .expect("moto creates the look-alike")
            .file_system_id()
            .to_string()
    });
    no_changes(&w, &stack);

    // Destroy: everything the stack made is gone; the look-alike stays.
    let destroy = w.infra(&["destroy", &stack, "--auto-approve"], &[FAST_POLL]);
    expect(&destroy, 0);
    assert!(
        seen(&w, &name).ids.is_empty(),
        "the stack's file system is gone"
    );
    w.rt.block_on(async {
        let left = efs
            .describe_file_systems()
            .file_system_id(&lookalike)
            .send()
            .await
            .expect("the look-alike survives");
        assert_eq!(left.file_systems().len(), 1);
        let targets = efs
            .describe_mount_targets()
            .file_system_id(&made.ids[0])
            .send()
            .await;
        assert!(
            targets.is_err(),
            "no mount target of the deleted file system is left"
        );
    });
}

/// The file system and access point the task definition's volume names.
fn task_volume(w: &World) -> (Option<String>, Option<String>) {
    let ecs = aws_sdk_ecs::Client::new(&w.config);
    w.rt.block_on(async {
        let td = ecs
            .describe_task_definition()
            .task_definition(format!("{}-app", w.stack))
            .send()
            .await
            .expect("moto describes the task definition");
        let efs = td
            .task_definition()
            .and_then(|t| t.volumes().first())
            .and_then(|v| v.efs_volume_configuration())
            .expect("an EFS volume");
        (
            Some(efs.file_system_id().to_string()),
            efs.authorization_config()
                .and_then(|a| a.access_point_id())
                .map(str::to_string),
        )
    })
}

/// Access point ids vary from run to run.
fn redact_access_points(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("fsap-") {
        out.push_str(&rest[..at]);
        out.push_str("FSAP-ID");
        let tail = &rest[at + 5..];
        let end = tail
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}
