//! `tether-sim`: parse arguments, run the simulator, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    tether_sim::cli::main()
}
