namespace SwarmLearning.Licensing.Server;

/// <summary>Body of POST /v1/seats: which kind of component asks (sn, sl, ...), for the seat list.</summary>
public sealed record SeatRequest(string Component);

/// <summary>A seat as the REST API shows it.</summary>
public sealed record SeatInfo(string LeaseId, string Holder, string Component, string LicenseId, DateTimeOffset ExpiresAt, double LeaseSeconds);

/// <summary>An installed licence as the REST API shows it.</summary>
public sealed record LicenseInfo(string Id, string? Licensee, IReadOnlyList<string>? Features, int Seats, int SeatsInUse, DateTimeOffset? NotBefore, DateTimeOffset? NotAfter, string? Problem);
