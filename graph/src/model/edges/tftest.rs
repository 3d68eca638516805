//! The modules a module's Terraform tests run (see [`crate::hcl::parse_tftest`]). What the
//! tests read otherwise is read as the module's own files' reads are, by the caller.

use super::{join_normalized, Builder};
use crate::error::Location;
use crate::hcl::ModuleCall;
use crate::model::Target;

impl Builder<'_> {
    /// A module a test file's `run` calls (`module { source = "./tests/setup" }`): its files
    /// are inputs, since the test's outcome depends on them, but it is no dependency (a test
    /// of a module may run an example that calls the module itself). terraform resolves the
    /// source from the module's directory, and OpenTofu's documentation shows it resolved
    /// from the test file's: `dirs` holds both, and each that holds Terraform files counts.
    /// The modules it calls in turn are not followed. One that leads nowhere is an
    /// unresolved read, not a problem of the target: only the test fails on it.
    pub(super) fn test_module(
        &self,
        me: usize,
        target: &mut Target,
        dirs: [&str; 2],
        call: &ModuleCall,
        location: Location,
    ) {
        if !call.is_local() {
            return;
        }
        let mut found = false;
        for dir in dirs {
            let resolved = join_normalized(dir, &call.source)
                .and_then(|p| self.through_links(&p, "module source", &location).ok());
            let Some(p) = resolved.filter(|p| self.tf_dirs.contains(p.as_str())) else {
                continue;
            };
            found = true;
            if self.owners.of_dir(&p) != Some(me) {
                self.fileset_inputs(me, &p, "**", target);
            }
        }
        if !found {
            target.unresolved.push(location);
        }
    }
}
