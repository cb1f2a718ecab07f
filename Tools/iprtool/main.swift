import IPRCommands

// The command set is the IPRCommands library, so that another package can ship the same tool with
// its own attacks and models registered (Examples/CustomAttack).
IPRTool.main()
