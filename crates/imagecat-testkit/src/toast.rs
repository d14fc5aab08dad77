//! Emulator of the NHN Cloud (TOAST) Compute Image API v1.0 (work in progress).
