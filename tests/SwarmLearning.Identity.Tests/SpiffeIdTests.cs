using SwarmLearning.Identity.Spiffe;

namespace SwarmLearning.Identity.Tests;

public class SpiffeIdTests
{
    [Theory]
    [InlineData("spiffe://swarm.local/sl/node1", "swarm.local", "/sl/node1")]
    [InlineData("spiffe://swarm.local", "swarm.local", "")]
    [InlineData("spiffe://a-b_c.9/Path.With-Odd_Chars/X", "a-b_c.9", "/Path.With-Odd_Chars/X")]
    public void Valid_ids_parse_into_trust_domain_and_path(string text, string domain, string path)
    {
        var id = SpiffeId.Parse(text);
        Assert.Equal(domain, id.TrustDomain);
        Assert.Equal(path, id.Path);
        Assert.Equal(text, id.ToString());
    }

    [Theory]
    [InlineData("", "required")]
    [InlineData("http://swarm.local/sl/x", "must start with 'spiffe://'")]
    [InlineData("SPIFFE://swarm.local/sl/x", "must start with 'spiffe://'")]
    [InlineData("spiffe:///sl/x", "no trust domain")]
    [InlineData("spiffe://Swarm.local/sl/x", "upper case")]
    [InlineData("spiffe://swarm.local:8081/sl/x", "port")]
    [InlineData("spiffe://user@swarm.local/sl/x", "user info")]
    [InlineData("spiffe://swarm.local/", "trailing slash")]
    [InlineData("spiffe://swarm.local/sl/", "empty path segment")]
    [InlineData("spiffe://swarm.local//x", "empty path segment")]
    [InlineData("spiffe://swarm.local/sl/../x", "relative segments")]
    [InlineData("spiffe://swarm.local/./x", "relative segments")]
    [InlineData("spiffe://swarm.local/sl/x?y=1", "query or fragment")]
    [InlineData("spiffe://swarm.local/sl/x#y", "query or fragment")]
    [InlineData("spiffe://swarm.local/sl/a%20b", "percent-encoding")]
    [InlineData("spiffe://swarm.local/sl/a b", "only letters, digits")]
    public void Invalid_ids_are_refused_naming_the_rule(string text, string expected)
    {
        var error = Assert.Throws<SpiffeIdException>(() => SpiffeId.Parse(text));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Length_limits_are_those_of_the_spec()
    {
        Assert.Contains("255", Assert.Throws<SpiffeIdException>(() => SpiffeId.Parse("spiffe://" + new string('a', 256))).Message, StringComparison.Ordinal);
        Assert.Equal(255, SpiffeId.Parse("spiffe://" + new string('a', 255)).TrustDomain.Length);
        string longest = "spiffe://swarm.local/" + new string('p', 2048 - "spiffe://swarm.local/".Length);
        Assert.Equal(2048, SpiffeId.Parse(longest).ToString().Length);
        Assert.Contains("2048", Assert.Throws<SpiffeIdException>(() => SpiffeId.Parse(longest + "p")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Paths_tell_the_component_kind()
    {
        var sl = SwarmIdentities.SlNode("swarm.local", "node1");
        Assert.True(sl.IsUnder("sl"));
        Assert.False(sl.IsUnder("sn"));
        Assert.False(SpiffeId.Parse("spiffe://swarm.local/slx/node1").IsUnder("sl"));
        Assert.Equal("spiffe://swarm.local/spire/server", SwarmIdentities.IdentityServer("swarm.local").ToString());
    }
}
