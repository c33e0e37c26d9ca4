#include "host/cpu/second_order_terms.hpp"

#include <algorithm>

#include "locent/hd.hpp"

namespace locent::cpu {

SizesAfterFlip second_order_terms(const ReplicaSets& r, const std::uint64_t* col_j, bool was_plus,
                                  int a_j, int b_j, int later,
                                  const std::uint64_t* const* cols_l, const int* a_l,
                                  const int* b_l, int* sums, std::vector<std::uint64_t>& c,
                                  std::vector<std::uint64_t>& d) {
  const std::size_t pw = r.words;
  c.assign(pw, 0);
  d.assign(pw, 0);
  for (int mu = 0; mu < r.patterns; ++mu) {
    c[mu >> 6] |= std::uint64_t(in_set_c(r.stabilities[mu], r.flip_energy)) << (mu & 63);
    d[mu >> 6] |= std::uint64_t(in_set_d(r.stabilities[mu], r.flip_energy)) << (mu & 63);
  }
  int c_j = 0, d_j = 0, size_c = 0, size_d = 0;
  for (std::size_t w = 0; w < pw; ++w) {
    c_j += popcount64(col_j[w] & c[w]);
    d_j += popcount64(col_j[w] & d[w]);
    size_c += popcount64(c[w]);
    size_d += popcount64(d[w]);
  }
  const std::uint64_t* outer = was_plus ? d.data() : c.data();
  for (int t = 0; t < later; ++t) {
    const std::uint64_t* col_l = cols_l[t];
    int u = 0, v = 0, outer_l = 0;
    for (std::size_t w = 0; w < pw; ++w) {
      const std::uint64_t both = col_j[w] & col_l[w];
      u += popcount64(both & second_order_u(r.set_a[w], r.set_b[w], c[w], d[w], r.flip_energy));
      v += popcount64(both & second_order_v(r.set_a[w], r.set_b[w], c[w], d[w], r.flip_energy));
      outer_l += popcount64(col_l[w] & outer[w]);
    }
    sums[t] = second_order_sum(was_plus, second_order_q(u, v, r.flip_energy), a_l[t], b_l[t],
                               outer_l);
  }
  return sizes_after_flip(was_plus, a_j, b_j, c_j, d_j, r.size_a, r.size_b, size_c, size_d);
}

}  // namespace locent::cpu
