//! The `tether` binary: parse arguments, run, map the outcome to an exit code.

/// Config, state and plan are many small allocations; mimalloc makes them
/// markedly cheaper than the system allocator (see `benches/plan.rs`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tether::cli::main()
}
