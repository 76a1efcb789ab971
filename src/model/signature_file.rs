//! Signature-encoder files: a trained [`SignatureAutoencoder`] with everything needed to apply
//! it to a new signature: the input featurizer (gene order, pathway definitions), the
//! standardization of its inputs and the architecture. Same framing as model files (magic
//! `MOLTXENC`, version, JSON header, burn record, CRC-32), so the same corruption checks apply.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::checkpoint::{
    CheckpointError, check_network_size, ffn_size, frame, linear_size, read_file, unframe,
    write_file,
};
use super::descriptors::DescriptorFeatures;
use super::signature::{SignatureAutoencoder, SignatureEncoderConfig};
use crate::expr::pathway::SignatureFeaturizer;

/// The 8 bytes every encoder file starts with.
pub const ENCODER_MAGIC: &[u8; 8] = b"MOLTXENC";
/// The encoder format version this build writes and reads.
pub const ENCODER_FORMAT_VERSION: u32 = 1;

/// Everything about an encoder except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderHeader {
    /// File format version.
    pub format_version: u32,
    /// moltx version that wrote the file.
    pub moltx_version: String,
    /// Signature → raw input vector.
    pub featurizer: SignatureFeaturizer,
    /// Standardization of the raw inputs (fitted on the training signatures).
    pub scaling: DescriptorFeatures,
    /// Architecture.
    pub config: SignatureEncoderConfig,
    /// How it was trained and how well it reconstructs (free-form JSON).
    pub metrics: serde_json::Value,
}

/// A loaded (or trained) signature encoder.
#[derive(Debug, Clone)]
pub struct SignatureEncoderFile {
    /// Metadata.
    pub header: EncoderHeader,
    /// Weights (encoder and decoder).
    pub net: SignatureAutoencoder,
}

impl SignatureEncoderFile {
    /// Standardized encoder input of one signature over the featurizer's genes.
    pub fn inputs(&self, values: &[f64]) -> Result<Vec<f32>, crate::expr::ExprError> {
        let raw = self.header.featurizer.featurize(values)?;
        let mut out = vec![0.0; raw.len()];
        self.header.scaling.normalize(&raw, &mut out);
        Ok(out)
    }

    /// Embeddings (`rows.len() × embedding`, row-major) of standardized input rows.
    pub fn embed(&self, rows: &[Vec<f32>], device: &Device) -> Vec<f32> {
        let d = self.header.config.input_dim;
        if rows.is_empty() {
            return Vec::new();
        }
        let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        let x = Tensor::<2>::from_data(TensorData::new(flat, [rows.len(), d]), device);
        self.net
            .encode(
                &self.header.config,
                x,
                false,
                &mut ChaCha8Rng::seed_from_u64(0),
            )
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_default()
    }

    /// Serializes the encoder (framing as in [`super::checkpoint`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let header = serde_json::to_vec(&self.header).map_err(|e| e.to_string())?;
        let weights = self
            .net
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| e.to_string())?;
        Ok(frame(
            ENCODER_MAGIC,
            ENCODER_FORMAT_VERSION,
            &header,
            &weights,
        ))
    }

    /// Writes the encoder file (through a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        write_file(path, self.to_bytes())
    }

    /// Reads and checks an encoder file, placing its weights on `device`.
    pub fn load(path: &Path, device: &Device) -> Result<Self, CheckpointError> {
        Self::from_bytes(&read_file(path)?, path, device)
    }

    /// Parses encoder-file bytes (`path` is used in error messages only).
    pub fn from_bytes(bytes: &[u8], path: &Path, device: &Device) -> Result<Self, CheckpointError> {
        let p = || path.to_path_buf();
        let (_, header, weights) = unframe(bytes, ENCODER_MAGIC, &[ENCODER_FORMAT_VERSION], path)?;
        let bad = |reason: String| CheckpointError::BadHeader { path: p(), reason };
        let header: EncoderHeader =
            serde_json::from_slice(header).map_err(|e| bad(e.to_string()))?;
        if let Some(sets) = &header.featurizer.pathways
            && sets.names.len() != sets.members.len()
        {
            return Err(bad(format!(
                "{} pathway names for {} pathways",
                sets.names.len(),
                sets.members.len()
            )));
        }
        let d = header.featurizer.len();
        if header.config.input_dim != d || header.scaling.len() != d {
            return Err(bad(format!(
                "the encoder reads {} inputs, its featurizer makes {d} and its scaling has {}",
                header.config.input_dim,
                header.scaling.len()
            )));
        }
        let c = &header.config;
        let size = ffn_size(c.input_dim, c.hidden, c.layers, c.embedding)
            .and_then(|e| e.checked_add(linear_size(c.embedding, c.input_dim)?));
        check_network_size(size, weights, path)?;
        let weights_err = |reason: String| CheckpointError::Weights { path: p(), reason };
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec()))
            .map_err(|e| weights_err(e.to_string()))?;
        let skeleton =
            SignatureAutoencoder::new(&header.config, &mut ChaCha8Rng::seed_from_u64(0), device);
        let net = skeleton
            .try_load_record(record)
            .map_err(|e| weights_err(e.to_string()))?;
        Ok(SignatureEncoderFile { header, net })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::pathway::SignatureInput;
    use burn::tensor::Device;

    /// A two-gene encoder file with an encoder config edited by `edit`.
    fn framed(edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
        let genes = vec!["1".to_string(), "2".to_string()];
        let featurizer = SignatureFeaturizer::new(SignatureInput::Genes, genes, None).unwrap();
        let config = SignatureEncoderConfig {
            input_dim: 2,
            hidden: 3,
            layers: 1,
            embedding: 2,
            dropout: 0.0,
        };
        let device = Device::flex();
        let file = SignatureEncoderFile {
            header: EncoderHeader {
                format_version: ENCODER_FORMAT_VERSION,
                moltx_version: "test".into(),
                featurizer,
                scaling: DescriptorFeatures {
                    generator: "signature".into(),
                    names: vec!["1".into(), "2".into()],
                    mean: vec![0.0; 2],
                    sd: vec![1.0; 2],
                },
                config: config.clone(),
                metrics: serde_json::Value::Null,
            },
            net: SignatureAutoencoder::new(&config, &mut ChaCha8Rng::seed_from_u64(0), &device),
        };
        let mut header = serde_json::to_value(&file.header).unwrap();
        edit(&mut header);
        let weights = file.net.clone().into_record().into_bytes().unwrap();
        frame(
            ENCODER_MAGIC,
            ENCODER_FORMAT_VERSION,
            &serde_json::to_vec(&header).unwrap(),
            &weights,
        )
    }

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `encoder`): the header's hidden width
    /// and layer count sized the skeleton network before the weights were read, so
    /// `"hidden": 4294967296` overflowed a multiplication (or asked for terabytes).
    #[test]
    fn an_encoder_header_asking_for_more_weights_than_the_file_holds_is_refused() {
        let (path, device) = (Path::new("enc.moltx"), Device::flex());
        assert!(SignatureEncoderFile::from_bytes(&framed(|_| {}), path, &device).is_ok());
        for (field, value) in [("hidden", 4294967296u64), ("layers", 1 << 40)] {
            let bytes = framed(|h| h["config"][field] = serde_json::json!(value));
            let err = SignatureEncoderFile::from_bytes(&bytes, path, &device).unwrap_err();
            assert!(
                matches!(err, CheckpointError::BadHeader { .. }),
                "{field}: {err}"
            );
        }
    }

    /// Found by the fuzz campaign (`tests/fuzz.rs`, `encoder`, release): a pathway name
    /// without its member list passed the width check (the width counts names) but made one
    /// input short, and the embedding panicked ("Shape [1, 22] is invalid for input of size
    /// 21").
    #[test]
    fn pathway_names_and_members_must_pair_up() {
        let (path, device) = (Path::new("enc.moltx"), Device::flex());
        let bytes = framed(|h| {
            h["featurizer"]["input"] = serde_json::json!("both");
            h["featurizer"]["pathways"] = serde_json::json!({"names": ["P"], "members": []});
            h["config"]["input_dim"] = serde_json::json!(3);
            h["scaling"]["names"] = serde_json::json!(["1", "2", "P"]);
            h["scaling"]["mean"] = serde_json::json!([0.0, 0.0, 0.0]);
            h["scaling"]["sd"] = serde_json::json!([1.0, 1.0, 1.0]);
        });
        let err = SignatureEncoderFile::from_bytes(&bytes, path, &device).unwrap_err();
        assert!(err.to_string().contains("pathway names"), "{err}");
    }
}
