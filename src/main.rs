//! The `reserver` binary: see `reserver --help`.

fn main() -> std::process::ExitCode {
    reserver::cli::main()
}
