//! Emulator of the Wakame-vdc DCMGR images API (work in progress).
