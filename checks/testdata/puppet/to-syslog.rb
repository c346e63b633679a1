# Converts a puppet --logdest JSON log into the lines puppet's syslog
# destination would write, prefixed with the event time and level:
#
#	<RFC 3339 time> <level> <message line>
#
# The message is rebuilt as Puppet::Util::Log#to_s does (issue-based errors
# get their "(file: F, line: L, column: C)" and "on node N" appended there,
# not in the JSON "message"), then split and prefixed the way
# Puppet::Util::Log::DestSyslog#handle does: one syslog line per message line,
# "(source) " in front unless the source is "Puppet".
require 'json'
require 'time'

def location(file, line, pos)
  file = nil if file.to_s.empty?
  line = nil if line.to_s.empty?
  pos = nil if pos.to_s.empty?
  if file && line && pos then " (file: #{file}, line: #{line}, column: #{pos})"
  elsif file && line then " (file: #{file}, line: #{line})"
  elsif line && pos then " (line: #{line}, column: #{pos})"
  elsif line then " (line: #{line})"
  elsif file then " (file: #{file})"
  else ''
  end
end

text = File.read(ARGV[0]).strip
text += ']' unless text.end_with?(']') # an agent that exits early leaves the array open
JSON.parse(text).each do |m|
  next if m['source'] == 'Facter' && m['message'].include?('/proc/1/environ') # container noise
  msg = m['message']
  if m['issue_code']
    msg = "Could not parse for environment #{m['environment']}: #{msg}" if m['environment']
    msg += location(m['file'], m['line'], m['pos'])
    msg += " on node #{m['node']}" if m['node']
    msg += "\n" + m['backtrace'].join("\n") if m['backtrace'].is_a?(Array)
  end
  t = Time.parse(m['time']).utc.strftime('%Y-%m-%dT%H:%M:%S.%3NZ')
  msg.split("\n").each do |line|
    line = "(#{m['source'].to_s.delete('%')}) #{line}" unless m['source'] == 'Puppet'
    puts "#{t} #{m['level']} #{line}"
  end
end
