//! Fuzz campaign over every input parser (issue 16, item 2): seeded, reproducible proptest
//! mutations of valid seed files (truncations, byte flips, inserted quotes, delimiters, line
//! ends, NUL, invalid UTF-8, huge numbers, duplicated and repeated lines, emptied fields).
//! The property: a parser returns `Ok` or `Err`, never panics, never aborts, and never makes
//! one allocation above [`alloc::CAP`] (the global allocator below aborts on it); streaming
//! library readers yield every record around a row-level fault.
//!
//! - `cargo test --test fuzz`: the CI sample ([`harness::SAMPLE_CASES`] cases per parser).
//! - `cargo test --release --test fuzz -- --ignored fuzz --nocapture`: the full campaigns
//!   ([`harness::FULL_CASES`] per parser), one line of counts per campaign.
//! - `MOLTX_FUZZ_CASES=N` sets the cases of either; `MOLTX_FUZZ_SEED=S` varies the RNG.

#[path = "fuzz/alloc.rs"]
mod alloc;
#[path = "fuzz/harness.rs"]
mod harness;
#[path = "fuzz/mutate.rs"]
mod mutate;
#[path = "fuzz/regressions.rs"]
mod regressions;
#[path = "fuzz/rows.rs"]
mod rows;
#[path = "fuzz/seeds.rs"]
mod seeds;
#[path = "fuzz/targets.rs"]
mod targets;

#[global_allocator]
static ALLOC: alloc::CappedAlloc = alloc::CappedAlloc;

/// A CI sample test and an ignored full campaign per parser.
macro_rules! campaigns {
    ($($name:ident: $sample:ident, $full:ident;)*) => {$(
        #[test]
        fn $sample() {
            let campaign = targets::campaign(stringify!($name));
            harness::check_seeds(&campaign);
            harness::run(&campaign, harness::cases(false));
        }

        #[test]
        #[ignore = "full fuzz campaign: cargo test --release --test fuzz -- --ignored fuzz"]
        fn $full() {
            harness::run(&targets::campaign(stringify!($name)), harness::cases(true));
        }
    )*};
}

campaigns! {
    table_csv: fuzz_table_csv_sample, fuzz_table_csv_full;
    table_tsv: fuzz_table_tsv_sample, fuzz_table_tsv_full;
    split_file: fuzz_split_file_sample, fuzz_split_file_full;
    library_csv: fuzz_library_csv_sample, fuzz_library_csv_full;
    library_tsv: fuzz_library_tsv_sample, fuzz_library_tsv_full;
    library_smi: fuzz_library_smi_sample, fuzz_library_smi_full;
    library_smi_gz: fuzz_library_smi_gz_sample, fuzz_library_smi_gz_full;
    library_sdf: fuzz_library_sdf_sample, fuzz_library_sdf_full;
    library_parquet: fuzz_library_parquet_sample, fuzz_library_parquet_full;
    gct: fuzz_gct_sample, fuzz_gct_full;
    gctx: fuzz_gctx_sample, fuzz_gctx_full;
    matrix: fuzz_matrix_sample, fuzz_matrix_full;
    matrix_csv: fuzz_matrix_csv_sample, fuzz_matrix_csv_full;
    gmt: fuzz_gmt_sample, fuzz_gmt_full;
    grp: fuzz_grp_sample, fuzz_grp_full;
    updown: fuzz_updown_sample, fuzz_updown_full;
    stargeo: fuzz_stargeo_sample, fuzz_stargeo_full;
    gene_table: fuzz_gene_table_sample, fuzz_gene_table_full;
    pathway_table: fuzz_pathway_table_sample, fuzz_pathway_table_full;
    model: fuzz_model_sample, fuzz_model_full;
    encoder: fuzz_encoder_sample, fuzz_encoder_full;
    neighbors: fuzz_neighbors_sample, fuzz_neighbors_full;
    resume: fuzz_resume_sample, fuzz_resume_full;
}

/// The bundled multi-megabyte model files themselves, header and weights mutated: a few cases
/// (each copies, checksums and loads megabytes); the model parser's 100,000 cases run on
/// small models of the same kinds (`fuzz_model_full`).
#[test]
fn fuzz_model_bundled_sample() {
    harness::run(&targets::campaign("model_bundled"), 8);
}

/// See [`fuzz_model_bundled_sample`].
#[test]
#[ignore = "full fuzz campaign: cargo test --release --test fuzz -- --ignored fuzz"]
fn fuzz_model_bundled_full() {
    harness::run(
        &targets::campaign("model_bundled"),
        harness::cases(true) / 200,
    );
}

/// Tools, not tests (their names avoid the `fuzz` filter of the full campaigns):
/// `MOLTX_FUZZ_DUMP=DIR cargo test --test fuzz write_seed_files -- --ignored` writes every
/// campaign's seeds to `DIR/<campaign>/`; `MOLTX_FUZZ_REPLAY=<campaign>=<file>` runs one
/// campaign's target on a file (e.g. the input an allocation abort named).
#[test]
#[ignore = "tool: writes the seeds to MOLTX_FUZZ_DUMP"]
fn write_seed_files() {
    let dir = std::path::PathBuf::from(std::env::var("MOLTX_FUZZ_DUMP").expect("MOLTX_FUZZ_DUMP"));
    for name in targets::NAMES {
        let campaign = targets::campaign(name);
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        for (i, seed) in campaign.seeds.iter().enumerate() {
            std::fs::write(sub.join(format!("{i}-{}", campaign.file_name)), &seed.bytes).unwrap();
        }
    }
}

/// See [`write_seed_files`].
#[test]
#[ignore = "tool: replays MOLTX_FUZZ_REPLAY=<campaign>=<file>"]
fn replay_input() {
    let spec = std::env::var("MOLTX_FUZZ_REPLAY").expect("MOLTX_FUZZ_REPLAY");
    let (name, file) = spec.split_once('=').expect("<campaign>=<file>");
    let campaign = targets::campaign(name);
    let dir = harness::scratch();
    let path = dir.path().join(campaign.file_name);
    std::fs::copy(file, &path).unwrap();
    eprintln!("{name} on {file}: {:?}", (campaign.target)(&path));
}
