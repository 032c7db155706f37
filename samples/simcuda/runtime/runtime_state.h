// The runtime's state: the driver it loaded, lazy initialization, each thread's
// current device and last error, and the primary contexts it holds.
#pragma once

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "driver_api.h"

namespace simcudart {

// The loaded driver. Only valid after ready() returned cudaSuccess.
const DriverApi& driver();

// Loads and initializes the driver on first use. The outcome of that first
// attempt is kept: a runtime that failed to start keeps failing the same way.
cudaError_t ready();

// ready(), and a current context for the calling thread: the one it already
// has, or else the primary context of its current device (retained once per
// process, like the real runtime's implicit context).
cudaError_t ready_with_context();

// The calling thread's current device, as cudaGetDevice reports it.
int current_device();
// Makes device current for the calling thread, with its primary context.
cudaError_t set_current_device(int device);
// cudaDeviceReset: drops the primary context of the current device.
cudaError_t reset_current_device();
int device_count();

// Records error as the thread's last error (unless it is cudaSuccess), returns it.
cudaError_t record(cudaError_t error);
cudaError_t record(CUresult result);
// Reads, and for take_last_error also clears, the thread's last error.
cudaError_t peek_last_error();
cudaError_t take_last_error();

// The runtime error for a driver result.
cudaError_t to_runtime_error(CUresult result);
// Whether the runtime knows this error code (rt_errors.cpp).
bool known_runtime_error(int code);

}  // namespace simcudart
