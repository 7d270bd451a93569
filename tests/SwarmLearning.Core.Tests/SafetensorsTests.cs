using System.Buffers.Binary;
using System.Text;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Round_trip_keeps_every_dtype_order_shape_value_and_metadata()
    {
        var tensors = new List<Tensor>();
        int i = 0;
        foreach (var dtype in Enum.GetValues<DType>())
        {
            var shape = new long[] { 2, 3 };
            var data = Enumerable.Range(0, (int)Tensor.ByteCount(dtype, shape)).Select(b => (byte)(b * 7 + i)).ToArray();
            tensors.Add(new Tensor($"t{i++}.{dtype}", dtype, shape, data));
        }
        tensors.Add(new Tensor("scalar", DType.F32, [], new byte[4]));
        tensors.Add(new Tensor("empty", DType.F32, [0, 4], []));
        var model = new ModelState(tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ü\"x" });
        string path = Path.Combine(_dir, "m.safetensors");

        var hash = SafetensorsWriter.Save(model, path);
        var loaded = SafetensorsReader.Load(path);

        Assert.Equal(model.Signature, loaded.Signature);
        for (int t = 0; t < tensors.Count; t++)
        {
            Assert.Equal(model.Tensors[t].Data, loaded.Tensors[t].Data);
        }
        Assert.Equal(model.Metadata, loaded.Metadata);
        Assert.Equal(hash, ContentHash.OfFile(path));
        Assert.Equal(hash, SafetensorsWriter.Hash(loaded));
    }

    [Fact]
    public void Data_starts_eight_byte_aligned_as_the_reference_implementation_writes_it()
    {
        string path = Path.Combine(_dir, "a.safetensors");
        SafetensorsWriter.Save(TestModels.Random(1), path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path));
        Assert.Equal(0UL, (headerLength + 8) % 8);
    }

    [Fact]
    public void Reads_a_hand_built_file_and_orders_tensors_by_data_offset()
    {
        // Written as PyTorch's safetensors does: keys sorted alphabetically, data in a different order.
        string header = """{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I64","shape":[],"data_offsets":[4,12]}}""";
        byte[] data = [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(42L)];
        var model = SafetensorsReader.Read(new MemoryStream(Build(header, data)), "hand");
        Assert.Equal(["b", "a"], model.Tensors.Select(t => t.Name));
        Assert.Equal(1.5f, model["b"].AsSpan<float>()[0]);
        Assert.Equal(42L, model["a"].AsSpan<long>()[0]);
    }

    [Fact]
    public void Equal_models_have_equal_hashes_and_a_changed_value_changes_it()
    {
        var a = TestModels.Random(3);
        var b = TestModels.Random(3);
        Assert.Equal(SafetensorsWriter.Hash(a), SafetensorsWriter.Hash(b));
        b.Tensors[0].AsSpan<float>()[0] += 1;
        Assert.NotEqual(SafetensorsWriter.Hash(a), SafetensorsWriter.Hash(b));
    }

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "empty file", [], "fewer than the 8-byte header length" },
        { "truncated length", [1, 2, 3], "fewer than the 8-byte header length" },
        { "header longer than file", Build("{}", [], declaredHeaderLength: 500), "says 500 bytes but only" },
        { "header not json", Build("{nope", []), "not valid JSON" },
        { "header not an object", Build("[1,2]", []), "not a JSON object" },
        { "unknown dtype", Build("""{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}""", [0]), "dtype 'F8_E4M3', which is not supported" },
        { "shape and bytes disagree", Build("""{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]), "(12 bytes) but its offsets span 8 bytes" },
        { "overlapping offsets", Build("""{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "overlaps" },
        { "out of range offsets", Build("""{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", new byte[8]), "file has only 8 data bytes" },
        { "gap between tensors", Build("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "belong to no tensor" },
        { "trailing bytes", Build("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[12]), "after the last tensor" },
        { "duplicate names", Build("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "'x' appears twice" },
        { "negative dimension", Build("""{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4]), "non-negative integers" },
        { "reversed offsets", Build("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", new byte[4]), "begin <= end" },
        { "missing field", Build("""{"x":{"dtype":"F32","shape":[1]}}""", new byte[4]), "lacks data_offsets" },
        { "unknown field", Build("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}""", new byte[4]), "unknown field 'extra'" },
        { "huge shape", Build("""{"x":{"dtype":"F32","shape":[9223372036854775807,4],"data_offsets":[0,4]}}""", new byte[4]), "too large" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_files_get_an_error_naming_the_file_and_the_problem(string name, byte[] bytes, string problem)
    {
        string path = Path.Combine(_dir, name.Replace(' ', '_') + ".safetensors");
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<ModelFileException>(() => SafetensorsReader.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void A_file_cut_inside_tensor_data_is_reported_truncated_even_from_an_unseekable_stream()
    {
        string path = Path.Combine(_dir, "cut.safetensors");
        SafetensorsWriter.Save(TestModels.Random(2), path);
        byte[] bytes = File.ReadAllBytes(path);
        var cut = bytes[..^5];
        var error = Assert.Throws<ModelFileException>(() => SafetensorsReader.Read(new UnseekableStream(cut), "stream"));
        Assert.Contains("truncated", error.Message);
        File.WriteAllBytes(path, cut);
        Assert.Contains("truncated", Assert.Throws<ModelFileException>(() => SafetensorsReader.Load(path)).Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        string path = Path.Combine(_dir, "absent.safetensors");
        Assert.Contains("does not exist", Assert.Throws<ModelFileException>(() => SafetensorsReader.Load(path)).Message);
    }

    [Fact]
    public void A_failed_save_leaves_neither_a_partial_file_nor_a_changed_destination()
    {
        string target = Path.Combine(_dir, "taken");
        Directory.CreateDirectory(target); // a directory where the file should go makes the final rename fail
        Assert.ThrowsAny<IOException>(() => SafetensorsWriter.Save(TestModels.Random(1), target));
        Assert.True(Directory.Exists(target));
        Assert.Empty(Directory.GetFiles(_dir, "*.partial", SearchOption.AllDirectories));
    }

    [Fact]
    public void Saving_by_hash_names_the_file_by_its_bytes_and_keeps_an_existing_one()
    {
        var model = TestModels.Random(3);
        var hash = SafetensorsWriter.SaveByHash(model, _dir, h => h.Hex + ".safetensors");
        string path = Path.Combine(_dir, hash.Hex + ".safetensors");
        Assert.Equal(SafetensorsWriter.Hash(model), hash);
        Assert.Equal(hash, ContentHash.OfFile(path));
        var written = File.GetLastWriteTimeUtc(path);
        File.SetLastWriteTimeUtc(path, written.AddHours(-1));

        Assert.Equal(hash, SafetensorsWriter.SaveByHash(model, _dir, h => h.Hex + ".safetensors"));
        Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(path)); // not rewritten
        Assert.Single(Directory.GetFiles(_dir)); // and no temporary file left
    }

    private static byte[] Build(string header, byte[] data, ulong? declaredHeaderLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredHeaderLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
    }
}
