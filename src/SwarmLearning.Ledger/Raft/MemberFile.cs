using System.Net;
using System.Text;
using DotNext.Buffers;
using DotNext.Net.Cluster.Consensus.Raft.Membership;

namespace SwarmLearning.Ledger.Raft;

/// <summary>The Raft membership of this SN on disk (DotNext's persistent storage), addresses written as "ip:port".</summary>
internal sealed class MemberFile(string path) : PersistentClusterConfigurationStorage<EndPoint>(path)
{
    protected override void Encode(EndPoint address, ref BufferWriterSlim<byte> output)
    {
        byte[] text = Encoding.UTF8.GetBytes(address.ToString()!);
        output.Add((byte)text.Length);
        output.Write(text);
    }

    protected override EndPoint Decode(ref SequenceReader reader)
    {
        Span<byte> text = stackalloc byte[reader.ReadByte()];
        reader.Read(text);
        return IPEndPoint.Parse(Encoding.UTF8.GetString(text));
    }
}
