//! The provisioning jobs card actions queue (the schema lives in the `provisioning` crate,
//! shared with the channel provisioner).

pub use provisioning::{ActingUser, ProvisioningJob, ProvisioningKind};
