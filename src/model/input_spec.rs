//! What a model reads: [`InputSpec`], and the one place that turns a molecule (plus, for
//! models that read them, supplied feature values such as a signature) into a model input.
//!
//! Every model file states its spec; a spec is also derived from the architecture
//! ([`InputSpec::of_model`]), which is how files written before the spec existed are read, and
//! how a file whose stated spec disagrees with its architecture is caught on load.

use serde::{Deserialize, Serialize};

use super::config::{ModelConfig, ModelKind};
use super::descriptors::{DescriptorFeatures, RDKIT_2D};
use super::net::{MoleculeInput, StructureInput, raw_descriptors};
use crate::chem::{ChemError, FeatureLayout, MolGraph, Molecule};

/// The structural part of what a model reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StructureSpec {
    /// The molecular graph with atom and bond features of a named layout (D-MPNN).
    Graph {
        /// The feature layout.
        layout: FeatureLayout,
    },
    /// Morgan fingerprint bits.
    Morgan {
        /// Radius (2 ≈ ECFP4).
        radius: u32,
        /// Fingerprint length.
        bits: u32,
    },
    /// Nothing structural (a features-only model).
    None,
}

/// The molecule-level features a model reads besides its structure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FeatureSpec {
    /// RDKit 2D descriptors, computed from the molecule.
    Rdkit2d {
        /// Descriptor names, in order.
        names: Vec<String>,
    },
    /// Values supplied with each molecule (e.g. a signature over a named gene space, with a
    /// trailing measured/predicted flag), not computable from the structure.
    Supplied {
        /// What produced the values (e.g. `l1000_signature`).
        generator: String,
        /// Feature names (gene ids), in order.
        names: Vec<String>,
    },
}

impl FeatureSpec {
    /// The spec of a model's descriptor features.
    pub fn of(features: &DescriptorFeatures) -> Self {
        if features.generator == RDKIT_2D {
            FeatureSpec::Rdkit2d {
                names: features.names.clone(),
            }
        } else {
            FeatureSpec::Supplied {
                generator: features.generator.clone(),
                names: features.names.clone(),
            }
        }
    }

    /// Number of feature values.
    pub fn len(&self) -> usize {
        match self {
            FeatureSpec::Rdkit2d { names } | FeatureSpec::Supplied { names, .. } => names.len(),
        }
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything a model reads for one molecule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Graph, fingerprint or nothing.
    pub structure: StructureSpec,
    /// Molecule-level features, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureSpec>,
}

/// Why an input could not be prepared for a model, or does not fit it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// RDKit could not read or featurize the molecule.
    #[error(transparent)]
    Chem(#[from] ChemError),
    /// The model reads supplied values (e.g. a signature) and none were given.
    #[error("the model reads {generator} values ({count} of them) that were not supplied")]
    MissingFeatures {
        /// What the values are.
        generator: String,
        /// How many the model reads.
        count: usize,
    },
    /// The supplied values or an input's features have the wrong length.
    #[error("the model reads {expected} feature values, the input has {found}")]
    FeatureCount {
        /// What the model reads.
        expected: usize,
        /// What the input has.
        found: usize,
    },
    /// An input's structure is not the kind the model reads.
    #[error("the model reads {expected}, the input is {found}")]
    WrongStructure {
        /// What the model reads.
        expected: &'static str,
        /// What the input holds.
        found: &'static str,
    },
}

impl StructureSpec {
    /// A short name of the structure kind, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            StructureSpec::Graph { .. } => "a molecular graph",
            StructureSpec::Morgan { .. } => "Morgan fingerprint bits",
            StructureSpec::None => "no structure",
        }
    }
}

fn describe_input(input: &StructureInput) -> &'static str {
    match input {
        StructureInput::Graph(_) => "a molecular graph",
        StructureInput::Morgan(_) => "Morgan fingerprint bits",
        StructureInput::None => "no structure",
    }
}

impl InputSpec {
    /// A one-line description, e.g. `molecular graph (chemprop_v2 v1) + 200 rdkit_2d features`.
    pub fn describe(&self) -> String {
        let structure = match &self.structure {
            StructureSpec::Graph { layout } => {
                format!("molecular graph ({} v{})", layout.name, layout.version)
            }
            StructureSpec::Morgan { radius, bits } => {
                format!("Morgan bits (radius {radius}, {bits} bits)")
            }
            StructureSpec::None => "no structure".to_string(),
        };
        match &self.features {
            None => structure,
            Some(FeatureSpec::Rdkit2d { names }) => {
                format!("{structure} + {} RDKit 2D descriptors", names.len())
            }
            Some(FeatureSpec::Supplied { generator, names }) => {
                format!("{structure} + {} supplied {generator} values", names.len())
            }
        }
    }

    /// The spec implied by a model's architecture and feature layout (also the spec of every
    /// model file written before specs were stored).
    pub fn of_model(config: &ModelConfig, layout: &FeatureLayout) -> Self {
        let structure = match config.kind {
            ModelKind::Dmpnn => StructureSpec::Graph {
                layout: layout.clone(),
            },
            ModelKind::FfnMorgan => StructureSpec::Morgan {
                radius: config.morgan_radius,
                bits: config.morgan_bits,
            },
            ModelKind::FeaturesOnly => StructureSpec::None,
        };
        InputSpec {
            structure,
            features: config.descriptors.as_ref().map(FeatureSpec::of),
        }
    }

    /// Morgan bits alone (the input of the nearest-neighbour models).
    pub fn morgan(radius: u32, bits: u32) -> Self {
        InputSpec {
            structure: StructureSpec::Morgan { radius, bits },
            features: None,
        }
    }

    /// True when the model reads values that must be supplied with each molecule.
    pub fn needs_supplied_features(&self) -> bool {
        matches!(self.features, Some(FeatureSpec::Supplied { .. }))
    }

    /// Number of molecule-level feature values.
    pub fn feature_count(&self) -> usize {
        self.features.as_ref().map_or(0, FeatureSpec::len)
    }

    /// Builds the input of a parsed molecule. `supplied` carries the values of a
    /// [`FeatureSpec::Supplied`] spec (ignored otherwise; an error when needed and absent).
    pub fn prepare(
        &self,
        mol: &Molecule,
        supplied: Option<&[f32]>,
    ) -> Result<MoleculeInput, InputError> {
        let structure = match &self.structure {
            StructureSpec::Graph { .. } => StructureInput::Graph(MolGraph::from_molecule(mol)?),
            StructureSpec::Morgan { radius, bits } => {
                StructureInput::Morgan(mol.morgan_fingerprint(*radius, *bits)?)
            }
            StructureSpec::None => StructureInput::None,
        };
        let descriptors = match &self.features {
            None => Vec::new(),
            Some(FeatureSpec::Rdkit2d { .. }) => raw_descriptors(mol)?,
            Some(FeatureSpec::Supplied { generator, names }) => {
                let values = supplied.ok_or_else(|| InputError::MissingFeatures {
                    generator: generator.clone(),
                    count: names.len(),
                })?;
                if values.len() != names.len() {
                    return Err(InputError::FeatureCount {
                        expected: names.len(),
                        found: values.len(),
                    });
                }
                values.to_vec()
            }
        };
        Ok(MoleculeInput {
            structure,
            descriptors,
            key: None,
        })
    }

    /// Checks that a prepared input is what this spec reads (structure kind, fingerprint
    /// length, feature count), so a mismatch is an error value, never a panic downstream.
    pub fn check(&self, input: &MoleculeInput) -> Result<(), InputError> {
        let fits = match (&self.structure, &input.structure) {
            (StructureSpec::Graph { .. }, StructureInput::Graph(_)) => true,
            (StructureSpec::Morgan { bits, .. }, StructureInput::Morgan(fp)) => fp.n_bits == *bits,
            (StructureSpec::None, _) => true,
            _ => false,
        };
        if !fits {
            return Err(InputError::WrongStructure {
                expected: self.structure.describe(),
                found: describe_input(&input.structure),
            });
        }
        let expected = self.feature_count();
        if input.descriptors.len() != expected {
            return Err(InputError::FeatureCount {
                expected,
                found: input.descriptors.len(),
            });
        }
        Ok(())
    }
}

impl super::CheckpointHeader {
    /// What the model reads: the spec its file states, else the one its architecture and
    /// feature layout imply (the same, for every file that loaded).
    pub fn input_spec(&self) -> InputSpec {
        self.input_spec
            .clone()
            .unwrap_or_else(|| InputSpec::of_model(&self.model, &self.feature_layout))
    }

    /// Builds the input of one molecule for this model, without copying the spec (a spec
    /// can name hundreds of descriptors or genes, and this runs once per molecule).
    pub fn prepare(
        &self,
        mol: &Molecule,
        supplied: Option<&[f32]>,
    ) -> Result<MoleculeInput, InputError> {
        match &self.input_spec {
            Some(spec) => spec.prepare(mol, supplied),
            None => self.input_spec().prepare(mol, supplied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chem::chemprop_v2_layout;

    #[test]
    fn specs_follow_the_architecture_and_check_inputs() {
        let layout = chemprop_v2_layout();
        let dmpnn = ModelConfig::defaults(ModelKind::Dmpnn, 1);
        let spec = InputSpec::of_model(&dmpnn, &layout);
        assert_eq!(spec.structure, StructureSpec::Graph { layout });
        let mol = Molecule::from_smiles("CCO").unwrap();
        let graph = spec.prepare(&mol, None).unwrap();
        spec.check(&graph).unwrap();

        let mut morgan = ModelConfig::defaults(ModelKind::FfnMorgan, 1);
        morgan.morgan_bits = 512;
        let morgan_spec = InputSpec::of_model(&morgan, &chemprop_v2_layout());
        assert_eq!(morgan_spec, InputSpec::morgan(2, 512));
        let fp = morgan_spec.prepare(&mol, None).unwrap();
        morgan_spec.check(&fp).unwrap();
        // A graph fed to a fingerprint model, or bits of another length, are errors.
        assert!(matches!(
            morgan_spec.check(&graph),
            Err(InputError::WrongStructure { .. })
        ));
        assert!(InputSpec::morgan(2, 1024).check(&fp).is_err());
    }

    #[test]
    fn supplied_features_are_required_and_counted() {
        let spec = InputSpec {
            structure: StructureSpec::None,
            features: Some(FeatureSpec::Supplied {
                generator: "l1000_signature".into(),
                names: vec!["1000".into(), "1001".into()],
            }),
        };
        assert!(spec.needs_supplied_features());
        let mol = Molecule::from_smiles("CCO").unwrap();
        assert!(matches!(
            spec.prepare(&mol, None),
            Err(InputError::MissingFeatures { count: 2, .. })
        ));
        assert_eq!(
            spec.prepare(&mol, Some(&[1.0])).unwrap_err(),
            InputError::FeatureCount {
                expected: 2,
                found: 1
            }
        );
        let input = spec.prepare(&mol, Some(&[1.0, -2.0])).unwrap();
        assert_eq!(input.descriptors, [1.0, -2.0]);
        spec.check(&input).unwrap();
    }
}
