//! Secrets Manager secrets and where their values come from.

use super::common::TAGS;
use crate::model::schema::{
    Attr, BlockSchema, Check, Computed, Default, ResourceSchema, Rule, Type,
};
use crate::model::value::Value;

pub static SECRET: ResourceSchema = ResourceSchema {
    title: "Secrets Manager secret",
    doc: "A Secrets Manager secret. Its `value` block says where the value comes from — exactly one of `generate` (Secrets Manager generates it once, at creation), `from-env` (an environment variable of whoever runs infra), `from-file` (a file, relative to the stack file) or `unmanaged=#true` (operators set it by hand and infra never writes it); without a `value` block the secret is hand-managed too. Values are sensitive: plans say `(sensitive value changed)` and never show them. Its ARN is what a container's `secrets` map takes.",
    rules_doc: "",
    body: &SECRET_BODY,
    computed: &[
        Computed::new("arn", Type::String, "The secret's ARN."),
        Computed::new(
            "version-id",
            Type::String,
            "The id of the version of its value that AWS serves now (AWSCURRENT); a service records the versions its tasks read, and restarts when one changes.",
        ),
    ],
    default_attribute: "arn",
    taggable: true,
    natural_key: &["name"],
    delete_phase: 110,
};

static SECRET_BODY: BlockSchema = BlockSchema::new(
    "secret",
    &[
        Attr::string("name")
            .required()
            .force_new()
            .checks(&[
                Check::Length(1, 512),
                Check::Custom(secret_name, "letters, digits, `/_+=.@-`"),
            ])
            .doc("The secret name (natural key)."),
        Attr::string("description")
            .checks(&[Check::Length(0, 2048)])
            .doc("Shown in the console."),
        Attr::string("kms-key")
            .unmanaged_when_omitted()
            .checks(&[Check::Length(0, 2048)])
            .doc(
                "KMS key id, ARN or alias. AWS reports the key's ARN: a key id and its ARN compare equal, and `alias/aws/secretsmanager` equals no key reported; any other alias is planned as a change (infra does not read KMS), so write the key's id or ARN to keep plans empty. Omitted: the secret keeps the key it has (`aws/secretsmanager` for a new one).",
            ),
        Attr::block("value", &SECRET_VALUE)
            .sensitive()
            .doc("Where the value comes from; omitted means operators set it by hand."),
        Attr::int("recovery-window")
            .default(Default::Int(30))
            .checks(&[Check::Range(7, 30)])
            .doc("Days a deleted secret can be restored."),
        TAGS,
    ],
);

fn secret_name(value: &Value) -> Result<(), (String, String)> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c)))
    {
        return Err((
            format!("secret name `{name}` contains `{bad}`"),
            "secret names use letters, digits and /_+=.@-".into(),
        ));
    }
    Ok(())
}

static SECRET_VALUE: BlockSchema = BlockSchema::new(
    "value",
    &[
        Attr::string("from-env").doc("Read the value from this environment variable."),
        Attr::string("from-file").doc("Read the value from this file (relative to the stack)."),
        Attr::block("generate", &GENERATE)
            .doc("Secrets Manager generates a random value once, when the secret is created."),
        Attr::bool("unmanaged").doc("Operators set the value; infra never writes it."),
    ],
)
.rules(&[Rule::ExactlyOneOf(&[
    "from-env",
    "from-file",
    "generate",
    "unmanaged",
])]);

static GENERATE: BlockSchema = BlockSchema::new(
    "generate",
    &[
        Attr::int("length")
            .default(Default::Int(32))
            .checks(&[Check::Range(1, 4096)])
            .doc("Characters in the value."),
        Attr::bool("exclude-punctuation")
            .default(Default::Bool(false))
            .doc("Leaves punctuation characters out."),
        Attr::string("exclude-characters")
            .checks(&[Check::Length(0, 4096)])
            .doc("Characters never used."),
        Attr::bool("include-space")
            .default(Default::Bool(false))
            .doc("May use the space character."),
    ],
);
