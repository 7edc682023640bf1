package io.hicache.cli;

import static io.hicache.cli.PromptsTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.TensorType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** GPU paths cannot run here; their parsing and selection logic can. */
class DeviceChoiceTest {
    @Test
    void parsesWithoutTheEngine() {
        assertEquals(DeviceChoice.Kind.AUTO, DeviceChoice.parse(null, null).kind());
        assertEquals(DeviceChoice.Kind.CPU, DeviceChoice.parse(null, "CPU").kind());
        assertEquals(DeviceChoice.Kind.CPU, DeviceChoice.parse("cpu", null).kind());
        assertEquals(DeviceChoice.Kind.ALL_GPUS, DeviceChoice.parse(null, "gpu").kind());
        assertEquals(new DeviceChoice(DeviceChoice.Kind.LISTED, "0, 3"), DeviceChoice.parse("0, 3", null));
        assertEquals(DeviceChoice.Kind.LISTED, DeviceChoice.parse("cuda:1,gpu2", null).kind());
        assertTrue(DeviceChoice.parse(null, null).mayUseCpu());
        assertFalse(DeviceChoice.parse("0", null).mayUseCpu());
    }

    @Test
    void badListsSayWhat() {
        assertMessage("--gpus: invalid device 'a'", () -> DeviceChoice.parse("a", null));
        assertMessage("--gpus: invalid device '-1'", () -> DeviceChoice.parse("-1", null));
        assertMessage("--gpus: GPU 0 is listed twice", () -> DeviceChoice.parse("0,0", null));
        assertMessage("--gpus: invalid device ''", () -> DeviceChoice.parse("0,", null));
        assertMessage("give either --gpus or --device", () -> DeviceChoice.parse("0", "cpu"));
        assertMessage("--device 'tpu': use cpu or gpu", () -> DeviceChoice.parse(null, "tpu"));
    }

    @Test
    void gpuVisibilityIsChecked() {
        // what resolve() relies on, against a given number of visible GPUs
        assertEquals(List.of(Device.gpu(1), Device.gpu(0)), HiCacheRuntime.resolveDevices("1,0", 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HiCacheRuntime.resolveDevices("0,2", 2));
        assertTrue(e.getMessage().contains("only 2 GPU(s) are visible"), e.getMessage());
        if (HiCacheRuntime.gpuCount() == 0) {
            assertMessage("--gpus: GPU 0 requested but no GPU is visible", () -> DeviceChoice.parse("0", null).resolve());
            assertMessage("--device gpu: no GPU is visible", () -> DeviceChoice.parse(null, "gpu").resolve());
            assertEquals(List.of(Device.cpu()), DeviceChoice.parse(null, null).resolve());
        }
    }

    @Test
    void cpuCoresAreSplitBetweenWorkers() {
        assertEquals(16, DeviceChoice.cpuThreadsPerWorker(16, 1));
        assertEquals(5, DeviceChoice.cpuThreadsPerWorker(16, 3));
        assertEquals(1, DeviceChoice.cpuThreadsPerWorker(2, 4));
    }

    @Test
    void workersAreCappedAtTheImagesSpreadOverTheDevices() {
        assertEquals(3, DeviceChoice.usefulWorkersPerDevice(64, 3, 1));
        assertEquals(2, DeviceChoice.usefulWorkersPerDevice(64, 3, 2));
        assertEquals(4, DeviceChoice.usefulWorkersPerDevice(4, 100, 2));
        assertEquals(1, DeviceChoice.usefulWorkersPerDevice(4, 0, 1));
    }

    @Test
    void namesAndDefaultDtype() {
        assertEquals("gpu3", DeviceChoice.name(Device.gpu(3)));
        assertEquals("cpu", DeviceChoice.name(Device.cpu()));
        assertEquals(TensorType.BF16, DeviceChoice.defaultDtype(List.of(Device.gpu(0))));
        assertEquals(TensorType.F32, DeviceChoice.defaultDtype(List.of(Device.cpu())));
    }
}
