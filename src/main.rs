//! The `moltx` command.

use clap::Parser;

/// mimalloc keeps freed pages for reuse: fresh kernel outputs cost ~4× less than with glibc
/// malloc, which maps and unmaps every large buffer (measured in benches/kernel.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = moltx::cli::Cli::parse();
    if let Err(error) = moltx::cli::run(cli) {
        // The error's chain, leaving out causes its message already quotes.
        let mut message = error.to_string();
        for cause in error.chain().skip(1) {
            let cause = cause.to_string();
            if !message.contains(&cause) {
                message = format!("{message}: {cause}");
            }
        }
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
