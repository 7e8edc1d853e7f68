//! The check of each answer `infra init` takes: an answer it accepts can be written into a KDL
//! string as it is (letters, digits and a few marks; never a quote or a backslash), and makes a
//! stack that loads. A refusal says what is wrong and what is allowed.

/// The longest name: `<name>-<environment>` names the ECS service and the target group, at most
/// 28 characters with the longest environment (`production`, 10).
const NAME_MAX: usize = 17;
/// The longest environment name.
const ENVIRONMENT_MAX: usize = 10;

/// A container image, split at its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Everything before the tag: `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop`.
    pub repository: String,
    pub tag: String,
}

impl Image {
    /// The account of an ECR repository (`<account>.dkr.ecr.<region>.amazonaws.com/...`).
    pub fn ecr_account(&self) -> Option<&str> {
        let (account, rest) = self.repository.split_once('.')?;
        (rest.starts_with("dkr.ecr.") && check_account(account).is_ok()).then_some(account)
    }
}

fn lowercase_word(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.ends_with('-')
}

/// The service's name.
pub fn check_name(text: &str) -> Result<String, String> {
    if lowercase_word(text) && text.len() <= NAME_MAX {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a service name: lowercase letters, digits and hyphens, starting with \
             a letter, at most {NAME_MAX} characters (`<name>-<environment>` names the ECS \
             service and target group, at most 28)"
        ))
    }
}

/// An AWS region infra knows.
pub fn check_region(text: &str) -> Result<String, String> {
    if crate::model::regions::is_region(text) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not an AWS region; write one such as `us-east-1` or `eu-central-1`"
        ))
    }
}

/// A public hosted zone's name, without the trailing dot.
pub fn check_domain(text: &str) -> Result<String, String> {
    let text = text.trim_end_matches('.').to_ascii_lowercase();
    let labels_ok = text.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if labels_ok && text.contains('.') && text.len() <= 200 {
        Ok(text)
    } else {
        Err(format!(
            "`{text}` is not a domain name; write the hosted zone the service answers in, such \
             as `example.com`"
        ))
    }
}

/// `repository:tag`; the tag is required (a deploy names what it runs).
pub fn parse_image(text: &str) -> Result<Image, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "./_-:@".contains(c);
    let last_part = text.rsplit('/').next().unwrap_or(text);
    let tagged = last_part.contains(':') && !text.contains('@');
    let split = tagged.then(|| text.rsplit_once(':')).flatten();
    match split {
        Some((repository, tag))
            if text.chars().all(allowed)
                && !repository.is_empty()
                && !tag.is_empty()
                && tag.len() <= 128
                && !tag.starts_with(['.', '-']) =>
        {
            Ok(Image {
                repository: repository.to_string(),
                tag: tag.to_string(),
            })
        }
        _ => Err(format!(
            "`{text}` is not an image with a tag; write repository:tag, such as \
             `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1.0.0`"
        )),
    }
}

/// The port the container listens on.
pub fn check_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!(
            "`{text}` is not a port; write a number from 1 to 65535"
        )),
    }
}

/// An environment's name.
pub fn check_environment(text: &str) -> Result<String, String> {
    if lowercase_word(text) && text.len() <= ENVIRONMENT_MAX {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not an environment name: lowercase letters, digits and hyphens, \
             starting with a letter, at most {ENVIRONMENT_MAX} characters"
        ))
    }
}

/// A 12-digit AWS account id.
pub fn check_account(text: &str) -> Result<String, String> {
    if text.len() == 12 && text.chars().all(|c| c.is_ascii_digit()) {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not an AWS account id (12 digits)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_splits_at_the_tag_after_the_last_slash() {
        let image = parse_image("localhost:5000/shop/api:1.2.3").expect("an image");
        assert_eq!(image.repository, "localhost:5000/shop/api");
        assert_eq!(image.tag, "1.2.3");
        assert!(parse_image("localhost:5000/shop/api").is_err(), "no tag");
        assert!(parse_image("shop:").is_err());
        assert!(
            parse_image("shop:\"x").is_err(),
            "a quote never reaches a file"
        );
        assert!(
            parse_image("shop@sha256:abc").is_err(),
            "a digest is not a tag"
        );
    }

    #[test]
    fn an_ecr_image_names_its_account() {
        let ecr = parse_image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:1").unwrap();
        assert_eq!(ecr.ecr_account(), Some("123456789012"));
        let hub = parse_image("nginx:1.27").unwrap();
        assert_eq!(hub.ecr_account(), None);
    }

    #[test]
    fn names_fit_the_service_and_target_group_limits() {
        assert!(check_name("shop").is_ok());
        assert!(check_name("a-seventeen-chars").is_ok());
        assert!(check_name("eighteen-chars-abc").is_err());
        assert!(check_name("Shop").is_err());
        assert!(check_name("1shop").is_err());
        assert!(check_name("shop-").is_err());
        assert!(check_environment("production").is_ok());
        assert!(check_environment("production2").is_err());
    }

    #[test]
    fn domains_regions_ports_and_accounts_are_checked() {
        assert_eq!(check_domain("Example.COM.").as_deref(), Ok("example.com"));
        assert!(check_domain("localhost").is_err());
        assert!(check_domain("a..b").is_err());
        assert!(check_domain("ex\"ample.com").is_err());
        assert!(check_region("eu-central-1").is_ok());
        assert!(check_region("moon-1").is_err());
        assert_eq!(check_port("8080"), Ok(8080));
        assert!(check_port("0").is_err());
        assert!(check_port("70000").is_err());
        assert!(check_account("123456789012").is_ok());
        assert!(check_account("12345").is_err());
    }
}
