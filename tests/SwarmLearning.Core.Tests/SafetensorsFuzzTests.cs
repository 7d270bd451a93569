using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SwarmLearning.Core.Files;
using SwarmLearning.Core.Model;

namespace SwarmLearning.Core.Tests;

/// <summary>
/// A parameter file from a peer is bytes from the network: whatever is done to a valid file (bytes of its header
/// flipped, its length prefix changed, the file cut, JSON put in its header), reading it either gives a model or a
/// <see cref="ModelFileException"/> that says what is wrong, never another exception (issue 13).
/// </summary>
public sealed class SafetensorsFuzzTests
{
    private static readonly byte[] s_valid = Valid();

    [Property(MaxTest = 300)]
    public Property A_mutated_header_is_a_model_or_a_clear_refusal(NonNegativeInt position, byte value, NonNegativeInt cut)
    {
        byte[] bytes = (byte[])s_valid.Clone();
        int headerEnd = 8 + (int)BitConverter.ToUInt64(bytes, 0);
        bytes[position.Get % headerEnd] = value;
        int length = cut.Get % 5 == 0 ? cut.Get % bytes.Length : bytes.Length;
        return ReadsOrRefuses(bytes[..length]).ToProperty();
    }

    [Property(MaxTest = 200)]
    public Property A_header_of_random_json_is_a_model_or_a_clear_refusal(NonEmptyString text, ulong declaredExtra)
    {
        string[] fragments = ["{", "}", "\"w\":", "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", "\"__metadata__\":{\"a\":1}", "[", "]", ",", "-1", "1e30", "null", "\"shape\":[-3]", "\"data_offsets\":[8,0]", text.Get];
        var random = new Random(text.Get.GetHashCode(StringComparison.Ordinal));
        string header = string.Concat(Enumerable.Range(0, 1 + random.Next(12)).Select(_ => fragments[random.Next(fragments.Length)]));
        byte[] json = Encoding.UTF8.GetBytes(header);
        ulong declared = declaredExtra % 3 == 0 ? (ulong)json.Length + declaredExtra % 1000 : (ulong)json.Length;
        byte[] bytes = [.. BitConverter.GetBytes(declared), .. json, .. new byte[8]];
        return ReadsOrRefuses(bytes).ToProperty();
    }

    private static bool ReadsOrRefuses(byte[] bytes)
    {
        try
        {
            SafetensorsReader.Read(new MemoryStream(bytes), "peer file");
            return true;
        }
        catch (ModelFileException e)
        {
            return e.Message.Length > 0;
        }
    }

    private static byte[] Valid()
    {
        var model = new ModelState([Tensor.FromFloats("w", [2, 3], [1, 2, 3, 4, 5, 6]), Tensor.FromFloats("b", [3], [7, 8, 9])],
            new Dictionary<string, string> { ["format"] = "pt" });
        string path = Path.Combine(Path.GetTempPath(), $"fuzz-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Save(model, path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
