//! Reads a stack, module or variable file within bounds: only regular files (a FIFO or a
//! device such as `/dev/zero` could block or never end), at most [`MAX_FILE_BYTES`], and only
//! text KDL allows (UTF-8 without NUL or other control characters). Nothing of a refused
//! file's content is ever put in an error.

use std::io::Read;
use std::path::Path;

use super::bounds::{MAX_FILE_BYTES, mib};

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The operating system's error (missing file, permission).
    Io(std::io::Error),
    /// A directory, FIFO, device or socket.
    NotRegular(&'static str),
    /// More than [`MAX_FILE_BYTES`].
    TooLarge,
    /// Not text a KDL document may hold; says why, never what.
    NotText(&'static str),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            ReadError::TooLarge => write!(f, "it is larger than {}", mib(MAX_FILE_BYTES)),
            ReadError::NotText(why) => write!(f, "{why}"),
        }
    }
}

/// The text of a file, without a leading byte-order mark.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(describe(&meta.file_type())));
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let expected = meta.len().min(MAX_FILE_BYTES) as usize;
    let mut bytes = Vec::with_capacity(expected + 1);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|_| ReadError::NotText("it is not UTF-8 text"))?;
    // The forbidden code points are ASCII, and an ASCII byte in UTF-8 is always a code point
    // of its own: checking bytes is checking characters, at a fraction of the cost.
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() && !forbidden(char::from(b[i])) {
        i += 1;
    }
    if i < b.len() {
        return Err(ReadError::NotText(
            "it holds NUL or other control characters, which KDL does not allow",
        ));
    }
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Code points KDL v2 forbids anywhere in a document: control characters other than
/// whitespace and line breaks, and DEL.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{e}'..='\u{1f}' | '\u{7f}')
}

#[cfg(unix)]
fn describe(ty: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ty.is_dir() {
        "a directory"
    } else if ty.is_fifo() {
        "a pipe (FIFO)"
    } else if ty.is_char_device() || ty.is_block_device() {
        "a device"
    } else if ty.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn describe(ty: &std::fs::FileType) -> &'static str {
    if ty.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("infra-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    #[test]
    fn refuses_devices_directories_binary_and_oversized_files() {
        assert!(matches!(
            read_text(Path::new("/dev/zero")),
            Err(ReadError::NotRegular("a device"))
        ));
        assert!(matches!(
            read_text(&std::env::temp_dir()),
            Err(ReadError::NotRegular("a directory"))
        ));
        assert!(matches!(
            read_text(&temp("nul", b"a=1\0b=2")),
            Err(ReadError::NotText(_))
        ));
        assert!(matches!(
            read_text(&temp("latin1", b"caf\xe9")),
            Err(ReadError::NotText(_))
        ));
        let big = vec![b' '; MAX_FILE_BYTES as usize + 1];
        assert!(matches!(
            read_text(&temp("big", &big)),
            Err(ReadError::TooLarge)
        ));
        let exact = vec![b' '; MAX_FILE_BYTES as usize];
        assert_eq!(
            read_text(&temp("exact", &exact)).map(|t| t.len()).ok(),
            Some(MAX_FILE_BYTES as usize)
        );
    }

    #[test]
    fn strips_a_byte_order_mark() {
        let text = read_text(&temp("bom", "\u{feff}a 1\n".as_bytes())).ok();
        assert_eq!(text.as_deref(), Some("a 1\n"));
    }
}
