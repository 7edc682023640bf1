package io.hicache.core.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runtime bootstrap: the one entry point that prepares DJL before its first use.
 *
 * <p>DJL "calls home" (HTTP to the EC2 metadata address) when its engine is first resolved unless
 * offline mode or tracking opt-out is set, and it downloads native libraries unless offline. Both
 * properties are therefore set here, before the engine starts, unless the user set them already.
 * Thread counts are read by the PyTorch engine when it starts, so {@link #configureThreads} must run
 * before the first tensor exists.
 */
public final class HiCacheRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(HiCacheRuntime.class);
    public static final String ENGINE = "PyTorch";
    private static volatile boolean started;

    private HiCacheRuntime() {}

    /** Sets DJL's offline and no-tracking properties (keeping explicit user values). Idempotent. */
    public static void configureOffline() {
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
    }

    /**
     * Sets libtorch's intra-op and inter-op thread counts; values ≤ 0 keep the engine default.
     * Effective only before the engine starts.
     *
     * @throws IllegalStateException when the engine has already started
     */
    public static void configureThreads(int intraOp, int interOp) {
        if (started) {
            throw new IllegalStateException("thread counts must be set before the engine starts");
        }
        if (intraOp > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(intraOp));
        }
        if (interOp > 0) {
            System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(interOp));
        }
    }

    /** Configures offline use and starts the PyTorch engine. Safe to call many times. */
    public static Engine bootstrap() {
        configureOffline();
        Engine engine = Engine.getEngine(ENGINE);
        if (!started) {
            synchronized (HiCacheRuntime.class) {
                if (!started) {
                    disableNnpack();
                    started = true;
                }
            }
        }
        return engine;
    }

    /**
     * Turns libtorch's NNPACK convolutions off, as {@code torch.backends.nnpack.set_flags(False)}
     * does. libtorch 2.7 tries to initialise NNPACK on every small CPU convolution and, where the
     * CPU is unsupported, logs "Could not initialize NNPACK" each time (many lines per image);
     * with the flag off it never asks, and convolutions use oneDNN or the native kernels on every
     * CPU alike. DJL has no call for this setting, so it is reached through the exported C++
     * symbols of {@code libtorch_cpu}; where they are missing (another platform's name mangling)
     * nothing changes but the warning.
     */
    private static void disableNnpack() {
        try {
            String dir = LibUtils.getLibtorchPath();
            String name = System.mapLibraryName("torch_cpu");
            NativeLibrary torch = NativeLibrary.getInstance(dir == null ? name : Path.of(dir, name).toString());
            Pointer context = torch.getFunction("_ZN2at13globalContextEv").invokePointer(new Object[0]);
            torch.getFunction("_ZN2at7Context20setUserEnabledNNPACKEb").invokeVoid(new Object[] {context, false});
            LOG.debug("libtorch NNPACK disabled");
        } catch (RuntimeException | LinkageError e) {
            LOG.debug("cannot disable libtorch NNPACK ({}); it may log that it cannot initialise", e.toString());
        }
    }

    /** Number of CUDA devices the engine sees. */
    public static int gpuCount() {
        return bootstrap().getGpuCount();
    }

    /**
     * Resolves a device list from user input: {@code cpu}, {@code 0}, {@code 0,1}, {@code gpu0},
     * {@code cuda:1}. GPU indices must be visible and distinct.
     *
     * @throws IllegalArgumentException with a message a user can act on
     */
    public static List<Device> resolveDevices(String spec) {
        return resolveDevices(spec, gpuCount());
    }

    /** As {@link #resolveDevices(String)}, against a given number of visible GPUs (testable). */
    public static List<Device> resolveDevices(String spec, int visibleGpus) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty device list: use cpu or GPU indices like 0,1");
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return List.of(Device.cpu());
        }
        Set<Integer> ids = new LinkedHashSet<>();
        for (String part : s.split(",", -1)) {
            String p = part.trim();
            if (p.startsWith("cuda:")) {
                p = p.substring(5);
            } else if (p.startsWith("gpu")) {
                p = p.substring(3);
            }
            if (p.isEmpty() || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException(
                        "invalid device '" + part.trim() + "' in '" + spec + "': use cpu or GPU indices like 0,1");
            }
            int id;
            try {
                id = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid GPU index '" + p + "' in '" + spec + "'");
            }
            if (!ids.add(id)) {
                throw new IllegalArgumentException("GPU " + id + " is listed twice in '" + spec + "'");
            }
        }
        List<Device> devices = new ArrayList<>();
        for (int id : ids) {
            requireGpu(id, visibleGpus);
            devices.add(Device.gpu(id));
        }
        return devices;
    }

    /**
     * Checks that the engine can use {@code device}, so that asking for a GPU the engine does not
     * see fails with one line rather than a native error from the first tensor.
     *
     * @throws IllegalArgumentException when {@code device} is a GPU the engine does not see
     */
    public static void requireAvailable(Device device) {
        if (device.isGpu()) {
            requireGpu(device.getDeviceId(), gpuCount());
        }
    }

    private static void requireGpu(int id, int visibleGpus) {
        if (id < 0 || id >= visibleGpus) {
            throw new IllegalArgumentException(visibleGpus == 0
                    ? "GPU " + id + " requested but no GPU is visible to PyTorch (CPU-only libtorch or no CUDA driver); use --device cpu"
                    : "GPU " + id + " requested but only " + visibleGpus + " GPU(s) are visible (indices 0.." + (visibleGpus - 1) + ")");
        }
    }

    /** Engine name, versions and visible devices, for --version and run records. */
    public static RuntimeInfo info() {
        Engine engine = bootstrap();
        int gpus = engine.getGpuCount();
        List<String> devices = new ArrayList<>();
        devices.add("cpu");
        for (int i = 0; i < gpus; i++) {
            devices.add("gpu" + i);
        }
        return new RuntimeInfo(
                engine.getEngineName(),
                engine.getVersion(),
                Engine.getDjlVersion(),
                gpus,
                List.copyOf(devices),
                Runtime.getRuntime().availableProcessors(),
                System.getProperty("ai.djl.pytorch.num_threads", "default"),
                Boolean.parseBoolean(System.getProperty("ai.djl.offline")));
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** What the runtime reports about itself. */
    public static final class RuntimeInfo {
        public final String engine;
        public final String engineVersion;
        public final String djlVersion;
        public final int gpuCount;
        public final List<String> devices;
        public final int cpuCores;
        public final String intraOpThreads;
        public final boolean offline;

        RuntimeInfo(String engine, String engineVersion, String djlVersion, int gpuCount,
                List<String> devices, int cpuCores, String intraOpThreads, boolean offline) {
            this.engine = engine;
            this.engineVersion = engineVersion;
            this.djlVersion = djlVersion;
            this.gpuCount = gpuCount;
            this.devices = devices;
            this.cpuCores = cpuCores;
            this.intraOpThreads = intraOpThreads;
            this.offline = offline;
        }

        @Override
        public String toString() {
            return String.format("DJL %s, %s %s, devices %s (%d CPU cores, intra-op threads %s, offline %s)",
                    djlVersion, engine, engineVersion, devices, cpuCores, intraOpThreads, offline);
        }
    }
}
