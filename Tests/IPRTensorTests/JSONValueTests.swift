import Testing
import IPRTensor

@Suite("JSONValue")
struct JSONValueTests {
    /// The syntax error `text` throws, or nil (recorded as an issue) when it parses.
    private static func syntaxError(_ text: String, maximumDepth: Int = 64,
                                    sourceLocation: SourceLocation = #_sourceLocation) -> JSONSyntaxError? {
        do {
            let value = try JSONValue.parse(Array(text.utf8), maximumDepth: maximumDepth)
            Issue.record("expected a syntax error but parsed \(value.summary)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func objectsKeepMemberOrderAndNumbersKeepTheirText() throws {
        let value = try JSONValue.parse(Array(#" {"z": -0, "a": [1.50, 2e3, true, null], "m": "\u00e9"} "#.utf8))
        guard case .object(let members) = value else { Issue.record("expected an object"); return }
        #expect(members.map(\.key) == ["z", "a", "m"])
        #expect(members[0].value == .number("-0"))
        #expect(members[1].value == .array([.number("1.50"), .number("2e3"), .bool(true), .null]))
        #expect(members[2].value == .string("é"))
        #expect(value.summary == "an object of 3 members")
        #expect(members[1].value.summary == "an array of 4 elements")
        #expect(JSONValue.number("1.5").summary == "number 1.5")
        #expect(JSONValue.string("F32").summary == "string \"F32\"")
    }

    @Test func duplicateKeysAreRejectedUnlessAllowed() throws {
        let text = Array(#"{"a": 1, "a": 2}"#.utf8)
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
        #expect(error.offset == 9)
        #expect(error.reason.hasPrefix("duplicate key \"a\""))
        let kept = try JSONValue.parse(text, allowsDuplicateKeys: true)
        #expect(kept == .object([(key: "a", value: .number("1")), (key: "a", value: .number("2"))]))
    }

    @Test func nestingIsLimited() throws {
        #expect(try JSONValue.parse(Array("[[[1]]]".utf8), maximumDepth: 3) == .array([.array([.array([.number("1")])])]))
        let error = try #require(Self.syntaxError("[[[[1]]]]", maximumDepth: 3))
        #expect(error.offset == 3)
        #expect(error.reason.contains("at most 3 levels of nesting"))
        #expect(Self.syntaxError(String(repeating: "[", count: 100_000))?.reason.contains("nesting") == true)
    }

    @Test func errorsNameOffsetLineAndColumn() throws {
        let error = try #require(Self.syntaxError("{\n  \"é\": tru\n}"))
        #expect(error.offset == 10)
        #expect(error.line == 2)
        #expect(error.column == 8)   // columns count scalars, not bytes
        #expect(error.reason == "expected 'true' but found 't'")
        #expect(Self.syntaxError("[1] x")?.reason.contains("only whitespace padding") == true)
        #expect(Self.syntaxError("[01]")?.reason.contains("leading zero") == true)
        #expect(Self.syntaxError(#"["\ud800"]"#)?.reason.contains("low surrogate") == true)
        #expect(Self.syntaxError("[1.]")?.reason == "expected a digit after '.' but found ']'")
    }

    @Test func byteOrderMarkAndInvalidUTF8() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("true".utf8)
        #expect(try JSONValue.parse(bom, allowsByteOrderMark: true) == .bool(true))
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(bom) }
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse([0x22, 0x61, 0xFF, 0x22]) }
        #expect(error.offset == 2)
        #expect(error.reason.contains("UTF-8"))
    }
}
