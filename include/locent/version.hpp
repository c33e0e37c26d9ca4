#pragma once
namespace locent {
inline constexpr const char* kVersion = "0.1.0";
}
