//! The integration tests of `imagecat-cli`, one test binary: one module per
//! area (run one with `cargo test -p imagecat-cli --test integration MODULE::`).

mod support;

mod cli;
mod cli_ec2_retire;
mod cli_ec2_usage;
mod cli_emulate_ec2;
mod cli_emulate_gce;
mod cli_emulate_members;
mod cli_extras;
mod cli_gce_retire;
mod cli_gce_usage;
mod cli_hostile;
mod cli_prune_sizes;
mod cli_prune_usage;
mod cli_refs;
mod cli_retire;
mod cli_usage;
mod cli_usage_churn;
mod clouds;
mod ec2_emulator;
mod ec2_moto;
mod errors;
mod exec_safety;
mod gce;
mod golden;
mod golden_matrix;
mod prune;
mod reliability;
mod report;
