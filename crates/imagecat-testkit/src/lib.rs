//! imagecat-testkit (work in progress).
