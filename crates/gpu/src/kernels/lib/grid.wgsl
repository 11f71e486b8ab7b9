// Grid indices (dispatch.rs): 1-D grids are split over x and y when they exceed 65535
// workgroups, so the linear workgroup index is wid.x + wid.y * nwg.x.

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// The element of thread `lid` in a 1-D grid of 256-thread workgroups, one element each.
fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return group_index(wid, nwg) * 256u + lid;
}
