//! imagecat-dcmgr (work in progress).
