using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SwarmLearning.Cli.Tests;

/// <summary>
/// Debian's chromium, headless, driven over the DevTools protocol (a WebSocket, JSON messages): open a page, evaluate
/// script in it, take screenshots. For browser tests without a browser-automation package.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Starts chromium on <paramref name="url"/> in a window of the given size.</summary>
    public static async Task<HeadlessChromium> OpenAsync(string url, int width, int height)
    {
        string executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("chromium is not installed: `apt-get install chromium` (.ci/run installs it)");
        string profile = Directory.CreateTempSubdirectory("chromium-").FullName;
        var info = new ProcessStartInfo(executable) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--remote-debugging-port=0",
            $"--user-data-dir={profile}", $"--window-size={width},{height}", url })
        {
            info.ArgumentList.Add(argument);
        }
        var process = Process.Start(info)!;
        var browser = new HeadlessChromium(process, profile);
        try
        {
            await browser.ConnectAsync(process);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync(); // never a chromium left running
            throw;
        }
    }

    private async Task ConnectAsync(Process process)
    {
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && DevToolsPort().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(int.Parse(match.Groups[1].Value));
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        int port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient();
        JsonArray? targets = null;
        for (int attempt = 0; attempt < 50 && targets?.Any(t => (string?)t!["type"] == "page") != true; attempt++)
        {
            await Task.Delay(100);
            targets = await http.GetFromJsonAsync<JsonArray>($"http://127.0.0.1:{port}/json/list");
        }
        string socket = (string)targets!.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!;
        await _socket.ConnectAsync(new Uri(socket), CancellationToken.None);
    }

    /// <summary>The value of a JavaScript expression in the page (JSON-compatible values only).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await CallAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        return result["exceptionDetails"] is { } error ? throw new InvalidOperationException($"{expression}: {error}") : result["result"]?["value"];
    }

    /// <summary>Polls <paramref name="expression"/> until it is true; fails with <paramref name="what"/> and the page's text after the limit.</summary>
    public async Task WaitUntilAsync(string expression, string what, TimeSpan limit)
    {
        var until = DateTime.UtcNow + limit;
        while ((await EvaluateAsync(expression))?.GetValue<bool>() != true)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the page never showed {what} within {limit}; its text:\n{await EvaluateAsync("document.body.innerText")}");
            }
            await Task.Delay(500);
        }
    }

    /// <summary>Saves a PNG of the page as the window shows it.</summary>
    public async Task ScreenshotAsync(string path)
    {
        var result = await CallAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String((string)result["data"]!));
    }

    /// <summary>Resizes the window (to check a narrow layout).</summary>
    public Task ResizeAsync(int width, int height) =>
        CallAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });

    private async Task<JsonNode> CallAsync(string method, JsonObject parameters)
    {
        int id = Interlocked.Increment(ref _nextId);
        byte[] message = Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters }.ToJsonString());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _socket.SendAsync(message, WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var received = new MemoryStream();
            WebSocketReceiveResult part;
            do
            {
                part = await _socket.ReceiveAsync(buffer, timeout.Token);
                received.Write(buffer, 0, part.Count);
            }
            while (!part.EndOfMessage);
            var reply = JsonNode.Parse(received.ToArray())!;
            if ((int?)reply["id"] == id)
            {
                return reply["error"] is { } error ? throw new InvalidOperationException($"{method}: {error}") : reply["result"]!;
            }
        }
    }

    [GeneratedRegex(@"DevTools listening on ws://127\.0\.0\.1:(\d+)/")]
    private static partial Regex DevToolsPort();

    public async ValueTask DisposeAsync()
    {
        try
        {
            _socket.Abort();
        }
        finally
        {
            _socket.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
                // chromium's last writes may race the delete; the temp folder is cleaned by the system
            }
        }
    }
}
