package io.hicache.cli;

import ai.djl.Device;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which devices a run uses, from {@code --gpus} / {@code --device}. Parsing needs no engine, so the
 * CPU thread count can be fixed before libtorch starts; {@link #resolve()} then asks the engine
 * which GPUs are visible.
 *
 * @param kind what the user asked for
 * @param gpus the {@code --gpus} list, for {@link Kind#LISTED}
 */
record DeviceChoice(Kind kind, String gpus) {
    enum Kind {
        /** Nothing given: all visible GPUs, else the CPU. */
        AUTO,
        CPU,
        /** {@code --device gpu}: all visible GPUs, and an error when there is none. */
        ALL_GPUS,
        LISTED
    }

    static DeviceChoice parse(String gpus, String device) {
        if (gpus != null && device != null) {
            throw new UsageException("give either --gpus or --device, not both");
        }
        if (device != null) {
            switch (device.trim().toLowerCase(Locale.ROOT)) {
                case "cpu":
                    return new DeviceChoice(Kind.CPU, null);
                case "gpu":
                case "cuda":
                    return new DeviceChoice(Kind.ALL_GPUS, null);
                default:
                    throw new UsageException("--device '" + device + "': use cpu or gpu (or --gpus 0,1 for particular GPUs)");
            }
        }
        if (gpus == null) {
            return new DeviceChoice(Kind.AUTO, null);
        }
        try {
            // Syntax and duplicates only: visibility is checked by resolve(), once the engine runs.
            List<Device> listed = HiCacheRuntime.resolveDevices(gpus, Integer.MAX_VALUE);
            return listed.get(0).isGpu() ? new DeviceChoice(Kind.LISTED, gpus) : new DeviceChoice(Kind.CPU, null);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--gpus: " + e.getMessage());
        }
    }

    /** True when the run may end up on the CPU (its thread count then matters). */
    boolean mayUseCpu() {
        return kind == Kind.CPU || kind == Kind.AUTO;
    }

    /**
     * libtorch intra-op threads for {@code workers} CPU workers sharing {@code cores}: each gets an
     * equal share, so that workers do not fight over cores.
     */
    static int cpuThreadsPerWorker(int cores, int workers) {
        return Math.max(1, cores / workers);
    }

    /**
     * Workers per device that can have work: no more than the images to make, spread over the
     * devices (each worker loads a whole model replica, so an idle one only costs memory).
     */
    static int usefulWorkersPerDevice(int requested, int images, int devices) {
        return Math.max(1, Math.min(requested, (images + devices - 1) / Math.max(1, devices)));
    }

    /** The devices, checked against what the engine sees (starts the engine unless CPU). */
    List<Device> resolve() {
        switch (kind) {
            case CPU:
                return List.of(Device.cpu());
            case LISTED:
                try {
                    return HiCacheRuntime.resolveDevices(gpus);
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--gpus: " + e.getMessage());
                }
            case ALL_GPUS:
            case AUTO:
            default:
                int visible = HiCacheRuntime.gpuCount();
                if (visible == 0) {
                    if (kind == Kind.ALL_GPUS) {
                        throw new UsageException("--device gpu: no GPU is visible to PyTorch (CPU-only libtorch or no "
                                + "CUDA driver; see docs/gpu.md); use --device cpu");
                    }
                    return List.of(Device.cpu());
                }
                List<Device> all = new ArrayList<>();
                for (int i = 0; i < visible; i++) {
                    all.add(Device.gpu(i));
                }
                return all;
        }
    }

    /** The compute dtype when none is given: bfloat16 on GPUs, float32 on the CPU. */
    static TensorType defaultDtype(List<Device> devices) {
        return devices.get(0).isGpu() ? TensorType.BF16 : TensorType.F32;
    }

    /** {@code cpu}, {@code gpu0}, ...: how manifests and logs name a device. */
    static String name(Device device) {
        return device.isGpu() ? "gpu" + device.getDeviceId() : "cpu";
    }
}
