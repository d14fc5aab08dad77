//! imagecat-http (work in progress).
