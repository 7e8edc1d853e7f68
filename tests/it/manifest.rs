//! The image manifest the tests and the benchmark push to the emulator's ECR: one layer whose
//! digest is given (distinct layers, distinct image digests).

/// An OCI manifest with one layer of digest `sha256:<layer>` (`layer`: 64 hex digits).
pub fn manifest(layer: &str) -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{}", "c".repeat(64)),
            "size": 100,
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": format!("sha256:{layer}"),
            "size": 1000,
        }],
    })
}
