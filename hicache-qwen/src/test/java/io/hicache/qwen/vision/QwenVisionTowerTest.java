package io.hicache.qwen.vision;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicache.core.metrics.RelativeError;
import io.hicache.core.pipeline.InvalidModelException;
import io.hicache.core.runtime.HiCacheRuntime;
import io.hicache.core.runtime.Precision;
import io.hicache.core.runtime.TensorType;
import io.hicache.core.weights.CheckpointMismatchException;
import io.hicache.core.weights.RenamedWeightSource;
import io.hicache.core.weights.WeightSource;
import io.hicache.core.weights.WeightStore;
import io.hicache.qwen.text.QwenTextConfig;
import io.hicache.qwen.text.QwenTextEncoder.Layout;
import io.hicache.qwen.text.TinyQwenTextEncoder;
import io.hicache.qwen.vision.Float64VisionTower.Variant;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vision tower on the tiny text encoder checkpoint against {@link Float64VisionTower}, an
 * independent float64 composition that never permutes tokens and masks windows instead.
 */
class QwenVisionTowerTest {
    static final long SEED = 21;
    static final QwenTextConfig TEXT = QwenTextConfig.tiny();
    static final QwenVisionConfig C = QwenVisionConfig.tiny(TEXT.hiddenSize());
    /**
     * float32 against float64: the unit roundoff is 6e-8, the longest dot products (the 1176-value
     * patch embedding) grow it to about √1176 · 6e-8 ≈ 2e-6, and four blocks and the merger add
     * errors of the same size; 1e-5 leaves a margin of a few times that, and is still a hundred
     * times below what a wrong window, axis or order gives (checked by the variants below).
     */
    static final double TOLERANCE = 1e-5;

    @TempDir
    Path dir;
    NDManager m;

    @BeforeEach
    void setUp() {
        HiCacheRuntime.bootstrap();
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    Path writeTiny(String name, Layout layout) throws IOException {
        Path d = dir.resolve(name);
        TinyQwenTextEncoder.write(d, TEXT, SEED, TensorType.F32, layout, 4);
        return d;
    }

    /** Patch values uniform in [−1.8, 2.2], about the range of CLIP-normalised pixels. */
    static float[] patches(int count, long seed) {
        Random r = new Random(seed);
        float[] v = new float[count * C.patchDim()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (-1.8 + 4 * r.nextDouble());
        }
        return v;
    }

    static double[][] rows(float[] v, int width) {
        double[][] x = new double[v.length / width][width];
        for (int i = 0; i < v.length; i++) {
            x[i / width][i % width] = v[i];
        }
        return x;
    }

    /** ‖a − b‖ / ‖b‖ over all rows, and the largest such ratio of a single row. */
    static double[] relativeErrors(float[] a, double[][] b) {
        double diff = 0;
        double ref = 0;
        double worstRow = 0;
        int width = b[0].length;
        for (int i = 0; i < b.length; i++) {
            double rowDiff = 0;
            double rowRef = 0;
            for (int j = 0; j < width; j++) {
                double e = a[i * width + j] - b[i][j];
                rowDiff += e * e;
                rowRef += b[i][j] * b[i][j];
            }
            diff += rowDiff;
            ref += rowRef;
            worstRow = Math.max(worstRow, Math.sqrt(rowDiff / rowRef));
        }
        return new double[] {Math.sqrt(diff / ref), worstRow};
    }

    static double relative(double[][] a, double[][] b) {
        double diff = 0;
        double ref = 0;
        for (int i = 0; i < b.length; i++) {
            for (int j = 0; j < b[i].length; j++) {
                diff += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j]);
                ref += b[i][j] * b[i][j];
            }
        }
        return Math.sqrt(diff / ref);
    }

    @Test
    void referenceErfMatchesKnownValues() {
        // values of erf to 16 digits (Abramowitz & Stegun table 7.1 / any libm erf)
        double[][] known = {{0.5, 0.5204998778130465}, {1, 0.8427007929497149}, {2, 0.9953222650189527},
            {2.5, 0.999593047982555}, {3, 0.9999779095030014}, {4, 0.9999999845827421}};
        for (double[] k : known) {
            assertEquals(k[1], Float64VisionTower.erf(k[0]), 1e-15, "erf(" + k[0] + ")");
            assertEquals(-k[1], Float64VisionTower.erf(-k[0]), 1e-15, "erf(" + -k[0] + ")");
        }
        assertEquals(0.0, Float64VisionTower.erf(0.0));
    }

    /**
     * 12 × 10 patches: 6 × 5 merge units, windows of 2 × 2 units in 3 rows and 3 columns, the last
     * column only one unit wide, so the tower batches 6 full windows and 3 edge windows apart and
     * reorders them; the grid is not square, so rows and columns cannot be confused unseen.
     */
    @Test
    void matchesTheFloat64ReferenceOnANonSquareGridWithEdgeWindows() throws IOException {
        compareWithReference(1, 12, 10);
    }

    /** Two frames: the full-attention blocks attend within each frame, the windows restart per frame. */
    @Test
    void matchesTheFloat64ReferenceOnTwoFrames() throws IOException {
        compareWithReference(2, 6, 4);
    }

    private void compareWithReference(int t, int h, int w) throws IOException {
        Path d = writeTiny("te", Layout.LEGACY);
        int n = t * h * w;
        float[] px = patches(n, 5);
        double[][] expected;
        double[][] noWindows;
        double[][] swapped;
        try (WeightStore store = WeightStore.open(d)) {
            Float64VisionTower reference = new Float64VisionTower(store, "visual.", C, m);
            expected = reference.encode(rows(px, C.patchDim()), t, h, w, Variant.EXACT);
            noWindows = reference.encode(rows(px, C.patchDim()), t, h, w, Variant.NO_WINDOWS);
            swapped = reference.encode(rows(px, C.patchDim()), t, h, w, Variant.SWAPPED_AXES);
        }
        // the comparison can fail: dropping the windows or swapping the rotary axes moves the
        // output by far more than the tolerance
        assertTrue(relative(noWindows, expected) > 100 * TOLERANCE, "windows matter: " + relative(noWindows, expected));
        assertTrue(relative(swapped, expected) > 100 * TOLERANCE, "rotary axes matter: " + relative(swapped, expected));

        try (QwenVisionTower tower = QwenVisionTower.load(d, TensorType.F32, m)) {
            NDArray out = tower.encode(m.create(px, new Shape(n, C.patchDim())), t, h, w);
            assertEquals(new Shape(n / 4, TEXT.hiddenSize()), out.getShape());
            assertEquals(DataType.FLOAT32, out.getDataType());
            double[] err = relativeErrors(out.toFloatArray(), expected);
            assertTrue(err[0] < TOLERANCE, "relative L2 error " + err[0]);
            assertTrue(err[1] < TOLERANCE, "worst merge unit's relative error " + err[1]);
        }
    }

    @Test
    void bothNamingLayoutsLoadToIdenticalOutputs() throws IOException {
        Path legacy = writeTiny("legacy", Layout.LEGACY);
        Path nested = writeTiny("nested", Layout.NESTED);
        try (WeightStore s = WeightStore.open(nested)) {
            assertTrue(s.contains("model.visual.blocks.3.mlp.down_proj.bias"));
            assertFalse(s.names().stream().anyMatch(name -> name.startsWith("visual.")));
        }
        assertEquals(C, QwenVisionTower.check(legacy));
        assertEquals(C, QwenVisionTower.check(nested));
        float[] px = patches(8 * 8, 7);
        try (QwenVisionTower a = QwenVisionTower.load(legacy, TensorType.F32, m);
                QwenVisionTower b = QwenVisionTower.load(nested, TensorType.F32, m)) {
            assertEquals(C, a.config());
            assertEquals(QwenVisionTower.spec(C).size(), a.parameters().size());
            float[] fa = a.encode(m.create(px, new Shape(64, C.patchDim())), 1, 8, 8).toFloatArray();
            float[] fb = b.encode(m.create(px, new Shape(64, C.patchDim())), 1, 8, 8).toFloatArray();
            assertEquals(16 * TEXT.hiddenSize(), fa.length);
            assertArrayEquals(fa, fb);
        }
    }

    @Test
    void aMissingTensorIsRefusedByItsStoredName() throws IOException {
        Path nested = writeTiny("nested", Layout.NESTED);
        String dropped = "model.visual.blocks.2.mlp.up_proj.bias";
        try (WeightStore store = WeightStore.open(nested)) {
            RenamedWeightSource.Builder b = RenamedWeightSource.over(store);
            store.names().stream().filter(name -> !name.equals(dropped)).forEach(name -> b.map(name, name));
            CheckpointMismatchException e = assertThrows(CheckpointMismatchException.class,
                    () -> QwenVisionTower.load(b.build(), C, TensorType.F32, m));
            assertEquals(java.util.List.of(dropped), e.missing());
            assertTrue(e.getMessage().contains("1 missing: " + dropped), e.getMessage());
        }
    }

    @Test
    void aCheckpointThatDoesNotMatchTheConfigIsRefused() throws IOException {
        Path legacy = writeTiny("legacy", Layout.LEGACY);
        try (WeightStore store = WeightStore.open(legacy)) {
            QwenVisionConfig deeper = new QwenVisionConfig(5, 32, 64, 2, 32, 14, 2, 2, 56, new int[] {1, 3}, 3);
            InvalidModelException depth = assertThrows(InvalidModelException.class,
                    () -> QwenVisionTower.load(store, deeper, TensorType.F32, m));
            assertTrue(depth.getMessage().contains("vision_config.depth = 5") && depth.getMessage().contains("holds 4"),
                    depth.getMessage());

            QwenVisionConfig shallower = new QwenVisionConfig(3, 32, 64, 2, 32, 14, 2, 2, 56, new int[] {1}, 3);
            CheckpointMismatchException extra = assertThrows(CheckpointMismatchException.class,
                    () -> QwenVisionTower.load(store, shallower, TensorType.F32, m));
            assertTrue(extra.unexpected().contains("visual.blocks.3.attn.qkv.weight"), extra.getMessage());

            QwenVisionConfig narrower = new QwenVisionConfig(4, 32, 48, 2, 32, 14, 2, 2, 56, new int[] {1, 3}, 3);
            CheckpointMismatchException shape = assertThrows(CheckpointMismatchException.class,
                    () -> QwenVisionTower.load(store, narrower, TensorType.F32, m));
            assertTrue(shape.getMessage().contains("visual.blocks.0.mlp.gate_proj.weight has shape [64, 32], expected"
                    + " [48, 32]"), shape.getMessage());

            RenamedWeightSource.Builder textOnly = RenamedWeightSource.over(store);
            store.names().stream().filter(name -> !name.startsWith("visual.")).forEach(name -> textOnly.map(name, name));
            WeightSource noTower = textOnly.build();
            InvalidModelException none = assertThrows(InvalidModelException.class,
                    () -> QwenVisionTower.load(noTower, C, TensorType.F32, m));
            assertTrue(none.getMessage().contains("no Qwen2.5-VL vision tower"), none.getMessage());
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessage() throws IOException {
        try (QwenVisionTower tower = QwenVisionTower.load(writeTiny("te", Layout.LEGACY), TensorType.F32, m)) {
            NDArray ok = m.create(patches(16, 1), new Shape(16, C.patchDim()));
            IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
                    () -> tower.encode(m.zeros(new Shape(16, 1175)), 1, 4, 4));
            assertTrue(width.getMessage().contains("= 1176"), width.getMessage());
            IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                    () -> tower.encode(ok, 1, 4, 6));
            assertTrue(count.getMessage().contains("16 pixel patches"), count.getMessage());
            IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                    () -> tower.encode(m.create(patches(15, 1), new Shape(15, C.patchDim())), 1, 3, 5));
            assertTrue(odd.getMessage().contains("multiples of spatial_merge_size 2"), odd.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> tower.encode(m.zeros(new Shape(16, C.patchDim()), DataType.INT32), 1, 4, 4));
        }
    }

    @Test
    void loadsOnlyFloat32OrBfloat16AndCloseFreesTheWeights() throws IOException {
        Path d = writeTiny("te", Layout.LEGACY);
        try (WeightStore store = WeightStore.open(d)) {
            assertThrows(IllegalArgumentException.class, () -> QwenVisionTower.load(store, C, TensorType.F16, m));
        }
        QwenVisionTower tower = QwenVisionTower.load(d, TensorType.F32, m);
        assertTrue(tower.isOpen());
        // the tiny tower's f32 parameters: patch embedding 32·1176, per block 2·32 (norms) +
        // 96·32+96 (qkv) + 32·32+32 (proj) + 2·(64·32+64) (gate, up) + 32·64+32 (down), merger
        // 32 + 128·128+128 + 32·128+32
        long perBlock = 64 + 96 * 32 + 96 + 32 * 32 + 32 + 2 * (64 * 32 + 64) + 32 * 64 + 32;
        long count = 32 * 1176 + 4 * perBlock + 32 + 128 * 128 + 128 + 32 * 128 + 32;
        assertEquals(4 * count, tower.parameterBytes());
        tower.close();
        assertFalse(tower.isOpen());
    }

    /**
     * bfloat16 compute from the float32 checkpoint: bf16 keeps 8 significant bits (relative
     * rounding 2^−9 ≈ 2e−3 per operation); a few dozen roundings over four blocks and the merger
     * stay well below 5e−2, while a wrong result is off by order one.
     */
    @Test
    void bfloat16ComputeAgreesWithFloat32ToBfloat16Precision() throws IOException {
        Path d = writeTiny("te", Layout.LEGACY);
        float[] px = patches(12 * 10, 3);
        try (QwenVisionTower f32 = QwenVisionTower.load(d, TensorType.F32, m);
                QwenVisionTower bf16 = QwenVisionTower.load(d, TensorType.BF16, m)) {
            NDArray a = f32.encode(m.create(px, new Shape(120, C.patchDim())), 1, 12, 10);
            NDArray b = bf16.encode(m.create(px, new Shape(120, C.patchDim())), 1, 12, 10);
            assertEquals(TensorType.BF16, Precision.typeOf(b));
            double err = RelativeError.l2(Precision.toFloat32(b), a);
            assertTrue(err < 5e-2, "bf16 relative error " + err);
        }
    }
}
