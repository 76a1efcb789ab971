//! The cxx bridge to our C++ wrapper over RDKit (`cpp/moltx_rdkit.cc`). Only `chem/` sees it.

#[cxx::bridge(namespace = "moltx")]
pub mod bridge {
    /// One atom as RDKit perceives it after sanitization.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct AtomRecord {
        pub atomic_num: u8,
        pub total_degree: u8,
        pub formal_charge: i8,
        pub chiral_tag: u8,
        pub total_hs: u8,
        /// 0 unspecified, 1 S, 2 SP, 3 SP2, 4 SP2D, 5 SP3, 6 SP3D, 7 SP3D2, 8 other.
        pub hybridization: u8,
        pub aromatic: bool,
        pub in_ring: bool,
        pub mass: f32,
    }

    /// One bond between atoms `begin` and `end`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct BondRecord {
        pub begin: u32,
        pub end: u32,
        /// 0 other, 1 single, 2 double, 3 triple, 4 aromatic.
        pub bond_type: u8,
        pub conjugated: bool,
        pub in_ring: bool,
        /// RDKit's `Bond::BondStereo` value (0 none, 1 any, 2 Z, 3 E, 4 cis, 5 trans).
        pub stereo: u8,
        pub aromatic: bool,
    }

    /// One highlighted atom or bond of a depiction: its RDKit index, its fill colour (red,
    /// green, blue and opacity in 0..=1) and, for atoms, the circle's radius in drawing units
    /// (RDKit's default is 0.3, about a fifth of a bond).
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Highlight {
        pub index: u32,
        pub red: f32,
        pub green: f32,
        pub blue: f32,
        pub alpha: f32,
        pub radius: f32,
    }

    #[namespace = "RDKit"]
    unsafe extern "C++" {
        include!("moltx/cpp/moltx_rdkit.h");
        type ROMol = rdkit_sys::ro_mol_ffi::ROMol;
    }

    unsafe extern "C++" {
        include!("moltx/cpp/moltx_rdkit.h");

        fn init_rdkit_logs();
        fn parse_smiles(smiles: &str, sanitize: bool) -> Result<SharedPtr<ROMol>>;
        fn parse_molblock(block: &str, sanitize: bool) -> Result<SharedPtr<ROMol>>;
        fn canonical_smiles(mol: &SharedPtr<ROMol>, isomeric: bool) -> Result<String>;
        fn mol_name(mol: &SharedPtr<ROMol>) -> String;
        fn atom_symbols(mol: &SharedPtr<ROMol>) -> Vec<String>;
        fn mol_tables(
            mol: &SharedPtr<ROMol>,
            atoms: &mut Vec<AtomRecord>,
            bonds: &mut Vec<BondRecord>,
        ) -> Result<()>;
        fn murcko_scaffold_smiles(mol: &SharedPtr<ROMol>) -> Result<String>;
        fn morgan_on_bits(
            mol: &SharedPtr<ROMol>,
            radius: u32,
            n_bits: u32,
            use_chirality: bool,
        ) -> Result<Vec<u32>>;
        fn rdkit_descriptor_names() -> Vec<String>;
        fn rdkit_descriptors(mol: &SharedPtr<ROMol>) -> Result<Vec<f64>>;
        fn svg_with_highlights(
            mol: &SharedPtr<ROMol>,
            atoms: &[Highlight],
            bonds: &[Highlight],
            legend: &str,
            width: u32,
            height: u32,
            atom_indices: bool,
        ) -> Result<String>;
    }
}

pub use bridge::{AtomRecord, BondRecord, Highlight};
