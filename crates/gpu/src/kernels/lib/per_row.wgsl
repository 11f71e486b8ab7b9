// The entry point of the kernels with one workgroup of 256 threads per row (grid split over
// x/y, grid.wgsl). The kernel's parameters have `rows`, and the kernel defines
// `fn apply_row(row: u32, lid: u32)`, run by every thread of the row's workgroup. The row is
// the same for the whole workgroup, so apply_row is in uniform control flow and may use the
// workgroup reductions of reduce.wgsl.

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = group_index(wid, nwg);
    if (row < p.rows) {
        apply_row(row, lid);
    }
}
