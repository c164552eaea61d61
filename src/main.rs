//! The `reserver` binary: see `reserver --help`.

/// mimalloc instead of the system allocator: see `Cargo.toml` and docs/benchmarks.md §5.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    reserver::cli::main()
}
