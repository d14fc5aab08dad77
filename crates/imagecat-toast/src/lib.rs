//! imagecat-toast (work in progress).
