//! Where goxy's bytes live: the BlobStore trait, local disk, immutable version manifests.
