//! imagecat (work in progress).
