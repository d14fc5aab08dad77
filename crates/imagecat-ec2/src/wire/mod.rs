//! The response side of the Query protocol: EC2's XML decoded into the
//! workspace's model.
//!
//! [`xml`] reads a body into a bounded tree (quick-xml's reader; why not its
//! serde there); [`images`] maps a `DescribeImagesResponse` onto
//! [`Image`](imagecat_core::Image)s and a [`Page`](imagecat_core::raw::Page).
//! The error document is in [`crate::error`].

pub mod images;
pub mod xml;

pub use images::{decode_describe_images, image_status};
