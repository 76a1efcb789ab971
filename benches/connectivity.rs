//! Connectivity benchmark (plain timing, `harness = false`):
//!
//! 1. one query against 1,000,000 generated references of 978 genes for each
//!    score, on a 2-thread pool, with and without the ranking step (generated
//!    and scored in blocks of 250,000 references to bound memory);
//! 2. the sorted-hits WTCS kernel against the full-scan reference (ratio);
//! 3. 100 queries against the 1,170 real consensus signatures (skipped with a
//!    message when the data folder is absent; `MOLTX_DATA` or `../shared/data`).
//!
//! Run: `cargo bench --bench connectivity` (`MOLTX_BENCH_REFS` overrides 1,000,000).

use moltx::expr::RankedReferences;
use moltx::expr::connectivity::{AlignedQuery, Score, ScoreParams, score_references};
use moltx::expr::enrichment::{HitScratch, weighted_es, weighted_es_full_scan};
use moltx::expr::matrix::{Layout, read_matrix};
use moltx::expr::normalize::{SplitMix64, random_queries};
use moltx::expr::query::{QueryInput, align_query};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

const GENES: usize = 978;
const BLOCK: usize = 250_000;

/// CPU seconds used by this process so far (user + system, from /proc; 0 if unavailable).
/// On a loaded machine, CPU seconds / 2 estimates the wall time on 2 dedicated cores.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = stat.rsplit(')').next() else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn generate(block: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0f32; block * GENES];
    v.par_chunks_mut(GENES).enumerate().for_each(|(r, row)| {
        let mut rng = SplitMix64::new(seed ^ (r as u64).wrapping_mul(0x9E37_79B9));
        for x in row {
            // roughly normal: sum of 3 uniforms, centered
            *x = ((rng.unit() + rng.unit() + rng.unit()) * 2.0 - 3.0) as f32;
        }
    });
    v
}

fn main() {
    let n_refs: usize = std::env::var("MOLTX_BENCH_REFS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("thread pool");
    pool.install(|| run(n_refs));
}

fn run(n_refs: usize) {
    let params = ScoreParams::default();
    let mut q = random_queries(GENES, 150, 150, 1, 7)
        .expect("query")
        .remove(0);
    let mut rng = SplitMix64::new(11);
    q.signature = Some((
        (0..GENES).collect(),
        (0..GENES).map(|_| rng.unit() * 2.0 - 1.0).collect(),
    ));
    let mut rank_time = 0.0;
    let mut rank_cpu = 0.0;
    let mut score_time = vec![0.0; Score::ALL.len()];
    let mut score_cpu = vec![0.0; Score::ALL.len()];
    let mut done = 0;
    let mut checksum = 0.0;
    while done < n_refs {
        let block = BLOCK.min(n_refs - done);
        let values = generate(block, done as u64 + 1);
        let (t, c) = (Instant::now(), cpu_seconds());
        let refs = RankedReferences::from_values(GENES, values).expect("rank");
        rank_time += t.elapsed().as_secs_f64();
        rank_cpu += cpu_seconds() - c;
        for (i, s) in Score::ALL.iter().enumerate() {
            let (t, c) = (Instant::now(), cpu_seconds());
            let out = score_references(&q, &refs, *s, &params).expect("score");
            score_time[i] += t.elapsed().as_secs_f64();
            score_cpu[i] += cpu_seconds() - c;
            checksum += out[0];
        }
        done += block;
    }
    println!(
        "one query (150 up / 150 down; signature of {GENES} genes) vs {n_refs} references, 2 threads"
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", load.trim());
    println!(
        "ranking step (sort 978 genes per reference): wall {rank_time:.3} s, cpu {rank_cpu:.2} s"
    );
    println!(
        "{:<9} {:>12} {:>12} {:>16} {:>16}",
        "score", "wall s", "cpu s / 2", "wall+rank s", "cpu+rank / 2"
    );
    for (i, s) in Score::ALL.iter().enumerate() {
        println!(
            "{:<9} {:>12.3} {:>12.3} {:>16.3} {:>16.3}",
            s.name(),
            score_time[i],
            score_cpu[i] / 2.0,
            score_time[i] + rank_time,
            (score_cpu[i] + rank_cpu) / 2.0
        );
    }

    // kernel vs full-scan reference on 20,000 references
    let refs = RankedReferences::from_values(GENES, generate(20_000, 99)).expect("rank");
    let t = Instant::now();
    let mut s = HitScratch::new(GENES);
    let fast: f64 = (0..refs.len())
        .map(|r| weighted_es(refs.ranks(r), refs.values(r), &q.up, &mut s))
        .sum();
    let t_fast = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let slow: f64 = (0..refs.len())
        .map(|r| weighted_es_full_scan(refs.values(r), &q.up))
        .sum();
    let t_slow = t.elapsed().as_secs_f64();
    println!(
        "weighted ES, 1 thread, 20,000 refs: sorted hits {t_fast:.4} s, full scan with sort {t_slow:.3} s (ratio {:.0}x; sums {fast:.6} / {slow:.6})",
        t_slow / t_fast
    );

    let data = std::env::var("MOLTX_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let path = data.join("expression/consensi-drugbank.tsv.gz");
    if !path.exists() {
        println!(
            "real data: skipped ({} absent; set MOLTX_DATA)",
            path.display()
        );
        println!("checksum {checksum:.3}");
        return;
    }
    let m = read_matrix(&path, Layout::Rows).expect("read consensi");
    let t = Instant::now();
    let refs = RankedReferences::from_matrix(&m).expect("rank");
    let t_rank = t.elapsed().as_secs_f64();
    let queries: Vec<AlignedQuery> = (0..100)
        .map(|i| {
            let input = QueryInput::Signature {
                name: m.ids[i].clone(),
                ids: m.genes.ids().to_vec(),
                values: m.column(i).to_vec(),
            };
            align_query(&input, &m.genes, None, 150).expect("align")
        })
        .collect();
    println!(
        "100 real queries vs {} real signatures (ranking {t_rank:.4} s)",
        m.n_signatures()
    );
    for s in Score::ALL {
        let t = Instant::now();
        for q in &queries {
            checksum += score_references(q, &refs, s, &params).expect("score")[0];
        }
        println!("{:<9} {:>10.4} s", s.name(), t.elapsed().as_secs_f64());
    }
    println!("checksum {checksum:.3}");
}
