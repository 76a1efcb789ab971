//! `moltx data`: fetching reference datasets into a cache, offline.
//!
//! A loopback HTTP server (`data_fetch/server.rs`) serves fixture files made here, and a
//! registry file naming them replaces the built-in registry through `MOLTX_REGISTRY`; the
//! cache is a temporary folder (`MOLTX_DATA`). The built-in registry's checksums are checked
//! against `../shared/data` when it is present.

#[path = "data_fetch/server.rs"]
mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use moltx::data::registry::{FileCheck, Registry, part_path, sha256_bytes, verify_dataset};
use server::{Route, Server};

/// A fixture: source files in the shared-data layout, the server serving them, a registry
/// naming them, and an empty cache.
struct Fixture {
    dir: tempfile::TempDir,
    server: Server,
    registry: PathBuf,
    cache: PathBuf,
    source: PathBuf,
}

/// Deterministic bytes that do not compress.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

/// Datasets `tiny` (one small file), `big` (300 kB whose first download is cut halfway),
/// `bad` (the server's copy differs from the registry's checksum, same size) and `joined`
/// (a served file and a file without a public source).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let files: [(&str, &str, Vec<u8>); 5] = [
        (
            "tiny",
            "molecules/tiny.csv",
            b"smiles,y\nCCO,1\nc1ccccc1,0\n".to_vec(),
        ),
        ("big", "screening/big.csv.gz", noise(300_000, 7)),
        ("bad", "repurposing/bad.tsv", b"original\n".to_vec()),
        ("joined", "expression/remote.tsv", b"id\tx\nA\t1\n".to_vec()),
        (
            "joined",
            "expression/joined.tsv",
            b"id\tsmiles\nA\tCCO\n".to_vec(),
        ),
    ];
    let mut routes = HashMap::new();
    let mut datasets: Vec<(String, Vec<String>)> = Vec::new();
    for (dataset, path, bytes) in &files {
        let file = source.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        let name = Path::new(path).file_name().unwrap().to_str().unwrap();
        let served = match *dataset {
            "bad" => b"tampered\n".to_vec(),
            _ => bytes.clone(),
        };
        let url = if *path == "expression/joined.tsv" {
            String::new()
        } else {
            routes.insert(
                name.to_string(),
                Route {
                    body: served,
                    cut_first: *dataset == "big",
                },
            );
            format!(r#""url": "{{BASE}}/{name}", "#)
        };
        let entry = format!(
            r#"{{{url}"path": "{path}", "bytes": {}, "sha256": "{}"}}"#,
            bytes.len(),
            sha256_bytes(bytes)
        );
        match datasets.iter_mut().find(|(d, _)| d == dataset) {
            Some((_, entries)) => entries.push(entry),
            None => datasets.push((dataset.to_string(), vec![entry])),
        }
    }
    let server = Server::start(routes);
    let body: Vec<String> = datasets
        .iter()
        .map(|(name, entries)| {
            format!(
                r#"{{"name": "{name}", "description": "fixture {name}",
                 "licence": "CC0 (fixture {name})", "files": [{}]}}"#,
                entries.join(", ")
            )
        })
        .collect();
    let registry = dir.path().join("registry.json");
    let text = format!(r#"{{"datasets": [{}]}}"#, body.join(", ")).replace("{BASE}", &server.base);
    std::fs::write(&registry, text).unwrap();
    let cache = dir.path().join("cache");
    Fixture {
        dir,
        server,
        registry,
        cache,
        source,
    }
}

/// `moltx ARGS` with the cache and registry of `fx` (when given), from `cwd`, with no proxy
/// and a home folder inside the fixture; (success, stdout, stderr).
fn moltx_in(
    cwd: &Path,
    cache: &Path,
    registry: Option<&Path>,
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = Command::cargo_bin("moltx").unwrap();
    cmd.current_dir(cwd)
        .args(args)
        .env("MOLTX_DATA", cache)
        .env("HOME", cache.parent().unwrap())
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("MOLTX_REGISTRY");
    for proxy in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
    ] {
        cmd.env_remove(proxy);
    }
    cmd.env_remove("http_proxy");
    if let Some(r) = registry {
        cmd.env("MOLTX_REGISTRY", r);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn moltx(fx: &Fixture, args: &[&str]) -> (bool, String, String) {
    moltx_in(fx.dir.path(), &fx.cache, Some(&fx.registry), args)
}

#[test]
fn fetch_downloads_verifies_and_keeps_files_in_the_cache_layout() {
    let fx = fixture();
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "tiny", "--quiet"]);
    assert!(ok, "{out}{err}");
    let cached = fx.cache.join("molecules/tiny.csv");
    assert_eq!(
        std::fs::read(&cached).unwrap(),
        std::fs::read(fx.source.join("molecules/tiny.csv")).unwrap()
    );
    assert!(out.contains("licence: CC0 (fixture tiny)"), "{out}");
    assert!(out.contains("downloaded, sha256 verified"), "{out}");
    // A second fetch finds the file verified in place: nothing downloaded, no licence line.
    let before = fx.server.seen().len();
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "tiny"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("in the cache, sha256 verified"), "{out}");
    assert!(!out.contains("licence:"), "{out}");
    assert_eq!(fx.server.seen().len(), before);
    // path, list and verify.
    let (ok, out, _) = moltx(&fx, &["data", "path", "tiny"]);
    assert!(ok);
    assert_eq!(out.trim(), cached.display().to_string());
    let (ok, out, _) = moltx(&fx, &["data", "list"]);
    assert!(ok);
    let line = out.lines().find(|l| l.starts_with("tiny ")).unwrap();
    assert!(line.contains("complete"), "{out}");
    let line = out.lines().find(|l| l.starts_with("big ")).unwrap();
    assert!(line.contains(" - "), "{out}");
    let (ok, out, err) = moltx(&fx, &["data", "verify"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("tiny: 1 of 1 files verified"), "{out}");
    // A damaged cached file fails verify, and the next fetch replaces it.
    std::fs::write(&cached, b"smiles,y\nCCO,1\nc1ccccc1,1\n").unwrap();
    let (ok, out, err) = moltx(&fx, &["data", "verify", "tiny"]);
    assert!(!ok);
    assert!(out.contains("checksum mismatch"), "{out}");
    assert!(err.contains("moltx data fetch tiny"), "{err}");
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "tiny"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("downloaded"), "{out}");
    let (ok, _, _) = moltx(&fx, &["data", "verify", "tiny"]);
    assert!(ok);
}

#[test]
fn a_download_that_fails_its_checksum_is_refused_and_removed() {
    let fx = fixture();
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "bad"]);
    assert!(!ok, "{out}");
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(err.contains("the file was removed"), "{err}");
    assert!(
        err.contains(&format!("{}/bad.tsv", fx.server.base)),
        "{err}"
    );
    let target = fx.cache.join("repurposing/bad.tsv");
    assert!(!target.exists());
    assert!(!part_path(&target).exists());
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let fx = fixture();
    let target = fx.cache.join("screening/big.csv.gz");
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "big", "--quiet"]);
    assert!(!ok, "the first download is cut: {out}");
    assert!(err.contains("fetch again to resume"), "{err}");
    assert!(!target.exists());
    let held = std::fs::metadata(part_path(&target)).unwrap().len();
    assert!(held > 0 && held < 300_000, "{held} bytes held");
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "big", "--quiet"]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(fx.source.join("screening/big.csv.gz")).unwrap()
    );
    assert!(!part_path(&target).exists());
    let seen = fx.server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range, Some(format!("bytes={held}-")), "{seen:?}");
}

#[test]
fn from_a_folder_fills_the_cache_still_verifying_checksums() {
    let fx = fixture();
    let source = fx.source.to_str().unwrap();
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "tiny", "big", "--from", source]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("copied, sha256 verified"), "{out}");
    assert!(fx.server.seen().is_empty(), "nothing is downloaded");
    for path in ["molecules/tiny.csv", "screening/big.csv.gz"] {
        assert_eq!(
            std::fs::read(fx.cache.join(path)).unwrap(),
            std::fs::read(fx.source.join(path)).unwrap()
        );
    }
    // A folder holding a different file of the same size is refused, and nothing is kept.
    let other = fx.dir.path().join("other");
    std::fs::create_dir_all(other.join("repurposing")).unwrap();
    std::fs::write(other.join("repurposing/bad.tsv"), b"tampered\n").unwrap();
    let (ok, _, err) = moltx(
        &fx,
        &["data", "fetch", "bad", "--from", other.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(!fx.cache.join("repurposing/bad.tsv").exists());
    assert!(!part_path(&fx.cache.join("repurposing/bad.tsv")).exists());
    // A folder lacking a file says which.
    let (ok, _, err) = moltx(&fx, &["data", "fetch", "moses"]);
    assert!(!ok);
    assert!(err.contains("no dataset named \"moses\""), "{err}");
    let (ok, _, err) = moltx(
        &fx,
        &["data", "fetch", "joined", "--from", other.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(err.contains("remote.tsv: not found"), "{err}");
}

#[test]
fn a_file_without_a_public_source_comes_only_from_a_folder() {
    let fx = fixture();
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "joined"]);
    assert!(!ok);
    // The downloadable file is fetched, the other is named with the way to supply it.
    assert!(fx.cache.join("expression/remote.tsv").is_file(), "{out}");
    assert!(
        err.contains("expression/joined.tsv has no public source"),
        "{err}"
    );
    assert!(err.contains("moltx data fetch joined --from DIR"), "{err}");
    let source = fx.source.to_str().unwrap();
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "joined", "--from", source]);
    assert!(ok, "{out}{err}");
    // Once there, a plain fetch is satisfied.
    let (ok, out, err) = moltx(&fx, &["data", "fetch", "joined"]);
    assert!(ok, "{out}{err}");
}

#[test]
fn commands_missing_their_reference_data_print_the_fetch_command() {
    let tmp = tempfile::tempdir().unwrap();
    // From a folder whose ../shared/data does not exist, with an empty cache.
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let cache = tmp.path().join("cache");
    let (ok, _, err) = moltx_in(&cwd, &cache, None, &["connect-eval"]);
    assert!(!ok);
    assert!(
        err.contains("run `moltx data fetch l1000-consensus diseases indications`"),
        "{err}"
    );
    assert!(err.contains("--data DIR"), "{err}");
    let (ok, _, err) = moltx_in(&cwd, &cache, None, &["train-signatures", "--out", "x"]);
    assert!(!ok);
    assert!(
        err.contains("run `moltx data fetch l1000-consensus`"),
        "{err}"
    );
    // An explicit folder that does not exist is an error of its own.
    let (ok, _, err) = moltx_in(&cwd, &cache, None, &["connect-eval", "--data", "nope"]);
    assert!(!ok);
    assert!(err.contains("nope: not a data folder"), "{err}");
}

/// The repository's shared data, when present.
fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    dir.is_dir().then_some(dir)
}

#[test]
fn every_registry_checksum_matches_the_shared_data() {
    let Some(shared) = shared_data() else {
        eprintln!("../shared/data is absent: nothing to check");
        return;
    };
    let started = std::time::Instant::now();
    let registry = Registry::builtin();
    let mut problems = Vec::new();
    let (mut files, mut bytes) = (0, 0);
    for d in registry.datasets() {
        for (file, check) in verify_dataset(d, &shared).unwrap() {
            files += 1;
            bytes += file.bytes;
            if check != FileCheck::Ok {
                problems.push(format!("{} ({}): {check:?}", file.path, d.name));
            }
        }
    }
    eprintln!(
        "hashed {files} files, {bytes} bytes of ../shared/data in {:.2?}",
        started.elapsed()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_shared_data_fills_a_cache_that_commands_then_read() {
    let Some(shared) = shared_data() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let cache = tmp.path().join("cache");
    let from = shared.to_str().unwrap();
    let names = ["l1000-consensus", "diseases", "indications"];
    let mut args = vec!["data", "fetch"];
    args.extend(names);
    args.extend(["--from", from, "--quiet"]);
    let (ok, out, err) = moltx_in(&cwd, &cache, None, &args);
    assert!(ok, "{out}{err}");
    assert!(out.contains("licence: CC0 (dhimmel/stargeo"), "{out}");
    let (ok, out, err) = moltx_in(&cwd, &cache, None, &["data", "verify"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("indications: 3 of 3 files verified"), "{out}");
    // connect-eval, from a folder with no ../shared/data, reads the cache.
    let args = [
        "connect-eval",
        "--scores",
        "cosine",
        "--permutations",
        "10",
        "--json",
    ];
    let (ok, out, err) = moltx_in(&cwd, &cache, None, &args);
    assert!(ok, "{out}{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 6, "{out}");
}

#[test]
fn indications_runs_from_a_working_directory_with_only_the_cache() {
    // Generated reference data in the shared layout (the bundled drugs, random signatures,
    // two "diseases"), a registry naming its files, fetched into the cache with --from.
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("source");
    let drugs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/approved_drugs.csv"),
    )
    .unwrap();
    let (mut sigs, mut structures) = (
        String::from("id\t3000\t3001\t3002\n"),
        String::from("drugbank_id\tname\tsmiles\n"),
    );
    let mut indications = String::from("doid_id\tdrugbank_id\tdisease\tdrug\tcategory\n");
    for (i, line) in drugs.lines().skip(1).enumerate() {
        let (name, smiles) = line.split_once(',').unwrap();
        let v = noise(3, i as u64);
        sigs.push_str(&format!(
            "C{i}\t{}\t{}\t{}\n",
            v[0] as f64 / 64.0 - 2.0,
            v[1] as f64 / 64.0 - 2.0,
            v[2] as f64 / 64.0 - 2.0
        ));
        structures.push_str(&format!("C{i}\t{name}\t{smiles}\n"));
        if smiles.contains('c') {
            indications.push_str(&format!("D:1\tC{i}\taromatic\t{name}\tDM\n"));
        }
    }
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
        enc.write_all(sigs.as_bytes()).unwrap();
        enc.finish().unwrap();
    }
    let files: [(&str, &str, Vec<u8>); 3] = [
        ("l1000-consensus", "expression/consensi-drugbank.tsv.gz", gz),
        (
            "l1000-consensus",
            "expression/l1000_drugs.tsv",
            structures.into_bytes(),
        ),
        (
            "indications",
            "repurposing/indications.tsv",
            indications.into_bytes(),
        ),
    ];
    let mut datasets: Vec<(&str, Vec<String>)> = Vec::new();
    for (dataset, path, bytes) in &files {
        let file = source.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        let entry = format!(
            r#"{{"path": "{path}", "bytes": {}, "sha256": "{}"}}"#,
            bytes.len(),
            sha256_bytes(bytes)
        );
        match datasets.iter_mut().find(|(d, _)| d == dataset) {
            Some((_, entries)) => entries.push(entry),
            None => datasets.push((dataset, vec![entry])),
        }
    }
    let body: Vec<String> = datasets
        .iter()
        .map(|(name, entries)| {
            format!(
                r#"{{"name": "{name}", "description": "fixture", "licence": "CC0", "files": [{}]}}"#,
                entries.join(", ")
            )
        })
        .collect();
    let registry = tmp.path().join("registry.json");
    std::fs::write(
        &registry,
        format!(r#"{{"datasets": [{}]}}"#, body.join(", ")),
    )
    .unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let cache = tmp.path().join("cache");
    let out_file = cwd.join("indications.tsv");
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/approved_drugs.csv");
    let indications = [
        "indications",
        "--library",
        library.to_str().unwrap(),
        "--min-drugs",
        "3",
        "--out",
        out_file.to_str().unwrap(),
    ];
    // Before the fetch: the error names the command that gets the data.
    let (ok, _, err) = moltx_in(&cwd, &cache, Some(&registry), &indications);
    assert!(
        !ok && err.contains("moltx data fetch l1000-consensus indications"),
        "{err}"
    );
    let from = source.to_str().unwrap();
    let args = [
        "data",
        "fetch",
        "l1000-consensus",
        "indications",
        "--from",
        from,
    ];
    let (ok, out, err) = moltx_in(&cwd, &cache, Some(&registry), &args);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = moltx_in(&cwd, &cache, Some(&registry), &indications);
    assert!(ok, "{out}{err}");
    assert!(out.contains("scored 61 compounds for 1 diseases"), "{out}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(text.lines().count(), 1 + 61, "{text}");
    assert!(
        text.lines().next().unwrap().contains("\taromatic\t"),
        "{text}"
    );
}
