//! The `moltx` command.

use clap::Parser;

/// mimalloc keeps freed pages for reuse: fresh kernel outputs cost ~4× less than with glibc
/// malloc, which maps and unmaps every large buffer (measured in benches/kernel.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = moltx::cli::Cli::parse();
    if let Err(error) = moltx::cli::run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
